// The summary's charts: branches by level (bars stacked by area type) and, for each area
// type (rural and urban star sets differ), how many branches hold each of its five stars.
(function () {
  "use strict";
  var AREA_COLORS = { RURAL: "#2e7d32", URBAN: "#0277bd" };
  var HELD = "#f5a623";
  var MISSING = "#d0d4da";
  // Drawn on the canvas: ECharts' HTML tooltips carry style="" attributes, which the
  // Content-Security-Policy refuses.
  var TOOLTIP = { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: "richText" };

  var holder = document.getElementById("summary-charts");
  var levelElement = document.getElementById("level-chart");
  var starElement = document.getElementById("star-chart");
  if (!holder || !levelElement || !starElement || !window.echarts) return;
  var levelChart = echarts.init(levelElement);
  var starChart = echarts.init(starElement);
  levelChart.showLoading({ text: "加载中…" });
  starChart.showLoading({ text: "加载中…" });

  fetch(holder.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    })
    .then(function (data) {
      levelChart.hideLoading();
      starChart.hideLoading();
      if (!data.figures) return;
      drawLevels(data);
      drawStars(data.figures.areas);
    })
    .catch(function () {
      [levelChart, starChart].forEach(function (chart) {
        chart.hideLoading();
        chart.setOption({ title: { text: "图表数据加载失败，请刷新页面重试。", left: "center", top: "middle",
          textStyle: { fontSize: 14, fontWeight: "normal", color: "#6c757d" } } });
      });
    });

  function drawLevels(data) {
    var areas = data.figures.areas;
    levelChart.setOption({
      tooltip: TOOLTIP,
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 48, bottom: 28 },
      xAxis: { type: "category", data: data.level_labels },
      yAxis: { type: "value", name: "支部数", minInterval: 1 },
      series: areas.map(function (area, index) {
        return {
          name: area.label, type: "bar", stack: "level", barMaxWidth: 48,
          data: area.levels,
          itemStyle: { color: AREA_COLORS[area.area_type] },
          label: { show: index === areas.length - 1, position: "top",
            formatter: function (item) { return data.figures.levels[item.dataIndex] || ""; } }
        };
      })
    });
  }

  // One horizontal bar grid per area type, side by side: held (gold) and missing (grey).
  function drawStars(areas) {
    var width = 100 / areas.length;
    var option = {
      tooltip: TOOLTIP,
      legend: { top: 0, data: ["已获得", "未获得"] },
      title: [], grid: [], xAxis: [], yAxis: [], series: []
    };
    areas.forEach(function (area, index) {
      var left = index * width;
      var names = area.stars.map(function (star) { return star.name; }).reverse();
      option.title.push({ text: area.label + "（" + area.total + "）", left: left + width / 2 + "%", top: 26,
        textAlign: "center", textStyle: { fontSize: 13, fontWeight: "normal" } });
      option.grid.push({ left: left + 1 + "%", width: width - 4 + "%", top: 56, bottom: 16, containLabel: true });
      option.xAxis.push({ type: "value", gridIndex: index, max: area.total, minInterval: 1, axisLabel: { show: false },
        splitLine: { show: false } });
      option.yAxis.push({ type: "category", gridIndex: index, data: names, axisTick: { show: false } });
      option.series.push(
        { name: "已获得", type: "bar", stack: "star" + index, xAxisIndex: index, yAxisIndex: index,
          data: area.stars.map(function (star) { return star.held; }).reverse(),
          itemStyle: { color: HELD }, label: { show: true, formatter: function (item) { return item.value || ""; } } },
        { name: "未获得", type: "bar", stack: "star" + index, xAxisIndex: index, yAxisIndex: index,
          data: area.stars.map(function (star) { return star.missing; }).reverse(),
          itemStyle: { color: MISSING }, label: { show: true, color: "#555", formatter: function (item) { return item.value || ""; } } }
      );
    });
    starChart.setOption(option);
  }

  window.addEventListener("resize", function () {
    levelChart.resize();
    starChart.resize();
  });
})();
