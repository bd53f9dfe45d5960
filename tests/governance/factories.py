import factory

from governance.models import User

PASSWORD = "Portal-Test-2026"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    role = User.Role.TOWNSHIP_STAFF
    password = factory.django.Password(PASSWORD)
