// The branch scorecard's history chart: the level of each month of the year (bars) and,
// under it, which of the five stars the branch held that month (a filled or hollow star).
(function () {
  "use strict";
  var STAR = "path://M12 2l3 6.9 7.5.6-5.7 4.9 1.8 7.3L12 17.8 5.4 21.7l1.8-7.3L1.5 9.5 9 8.9z";
  var GOLD = "#f5a623";
  var GREY = "#d0d4da";
  var RED = "#b71c1c";

  var element = document.getElementById("history-chart");
  if (!element || !window.echarts) return;
  var chart = echarts.init(element);
  chart.showLoading({ text: "加载中…" });

  fetch(element.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    })
    .then(draw)
    .catch(function () {
      chart.hideLoading();
      chart.setOption({ title: { text: "图表数据加载失败，请刷新页面重试。", left: "center", top: "middle",
        textStyle: { fontSize: 14, fontWeight: "normal", color: "#6c757d" } } });
    });

  function draw(data) {
    chart.hideLoading();
    // Star 1 on the top row.
    var names = data.stars.map(function (star) { return star.name; }).reverse();
    var points = [];
    data.stars.forEach(function (star, index) {
      star.held.forEach(function (held, month) {
        if (held === null) return;
        points.push({
          value: [month, star.name],
          itemStyle: { color: held ? GOLD : GREY },
          held: held
        });
      });
    });
    var subtitle = data.annual === null ? "" : "年度评定：" + data.annual + " 星";
    chart.setOption({
      title: { text: subtitle, right: 10, top: 0, textStyle: { fontSize: 13, fontWeight: "normal", color: RED } },
      tooltip: {
        trigger: "item",
        // On the canvas, like the summary's: HTML tooltips would need inline styles.
        renderMode: "richText",
        formatter: function (item) {
          if (item.seriesIndex === 0) {
            return data.year + "年" + data.months[item.dataIndex] + "：" + item.value + " 星";
          }
          return data.months[item.value[0]] + " " + item.value[1] + "：" + (item.data.held ? "已获得" : "未获得");
        }
      },
      grid: [
        { left: 96, right: 16, top: 30, height: "38%" },
        { left: 96, right: 16, top: "60%", bottom: 8 }
      ],
      xAxis: [
        { type: "category", gridIndex: 0, data: data.months, axisTick: { alignWithLabel: true } },
        // The months read from the bars' axis just above.
        { type: "category", gridIndex: 1, data: data.months, axisTick: { show: false }, axisLine: { show: false },
          axisLabel: { show: false } }
      ],
      yAxis: [
        { type: "value", gridIndex: 0, min: 0, max: 5, interval: 1, name: "星级", nameLocation: "middle", nameGap: 28 },
        { type: "category", gridIndex: 1, data: names, axisTick: { show: false }, axisLine: { show: false },
          splitLine: { show: true, lineStyle: { color: "#f0f1f3" } } }
      ],
      series: [
        {
          name: "星级", type: "bar", xAxisIndex: 0, yAxisIndex: 0, barMaxWidth: 28,
          data: data.levels,
          itemStyle: { color: RED, borderRadius: [3, 3, 0, 0] },
          label: { show: true, position: "top", formatter: "{c}" }
        },
        {
          name: "各颗星", type: "scatter", xAxisIndex: 1, yAxisIndex: 1,
          symbol: STAR, symbolSize: 16, data: points
        }
      ]
    });
  }

  window.addEventListener("resize", function () { chart.resize(); });
})();
