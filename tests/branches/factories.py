import factory

from branches.models import OrgUnit


class OrgUnitFactory(factory.django.DjangoModelFactory):
    """Creates a unit under `parent` (a root when parent is None) through treebeard."""

    class Meta:
        model = OrgUnit

    code = factory.Sequence(lambda n: f"U{n:06d}")
    name = factory.Sequence(lambda n: f"测试单位{n}")
    level = OrgUnit.Level.VILLAGE
    area_type = factory.LazyAttribute(
        lambda o: OrgUnit.AreaType.RURAL if o.level >= OrgUnit.Level.VILLAGE else ""
    )

    @classmethod
    def _create(cls, model_class, *args, parent=None, **kwargs):
        if parent is None:
            return model_class.objects.add_root(kwargs)
        return model_class.objects.add_child(parent, kwargs)


def passing_value(criterion):
    """A monthly value that meets the criterion on its own (sums pro-rate by month)."""
    from decimal import ROUND_CEILING, Decimal

    from branches.models import Criterion

    C = Criterion.Comparator
    integer = criterion.kind == Criterion.Kind.INTEGER
    if criterion.kind == Criterion.Kind.BOOLEAN:
        return True
    if criterion.comparator == C.LTE:
        return Decimal(0)
    if criterion.aggregation == Criterion.Aggregation.SUM:
        # Year to date the threshold is pro-rated, so a twelfth a month is enough.
        monthly = (criterion.threshold / 12).quantize(Decimal("0.01")) + 1
        return monthly.to_integral_value(rounding=ROUND_CEILING) if integer else monthly
    return criterion.threshold
