"""Customer records: customers and contacts, written one by one (the API) or imported from CSV.

The admin edits the same models through their forms (Contact.clean holds the rules).
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from core.text import one_line
from customers.models import Contact, Customer
from customers.services.common import CustomerError
from roles.models import Service
from statuspage.models import Component

# The columns of an import; the first line names them (in any order; the last two may be left out).
CSV_COLUMNS = (
    "customer",
    "contact",
    "email",
    "alternate_email",
    "phone",
    "preferred_channel",
    "services",
    "components",
)
CSV_REQUIRED = ("customer", "contact", "email")
CSV_MAX_BYTES = 1_000_000
CSV_MAX_ROWS = 5000
# Problems listed at most in a refusal (the rest are counted).
MAX_PROBLEMS = 10


def _messages(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return " ".join(
            f"{'' if field == '__all__' else field.replace('_', ' ') + ': '}{message}"
            for field, messages in error.message_dict.items()
            for message in messages
        )
    return " ".join(error.messages)


def _check(obj, *, exclude: Sequence[str] = ()) -> None:
    try:
        obj.full_clean(exclude=list(exclude))
    except ValidationError as error:
        raise CustomerError(_messages(error)) from None


@transaction.atomic
def customer_create(
    *,
    name: str,
    services: Sequence[Service] = (),
    components: Sequence[Component] = (),
    notes: str = "",
    contacts: Sequence[dict] = (),
) -> Customer:
    """A customer, with its contacts (each a dict of Contact's fields) if given: all, or nothing."""
    customer = Customer(name=one_line(name), notes=(notes or "").strip())
    _check(customer)
    customer.save()
    customer.services.set(services)
    customer.components.set(components)
    for number, values in enumerate(contacts, start=1):
        try:
            contact_create(customer=customer, **values)
        except CustomerError as error:
            raise CustomerError(f"Contact {number}: {error}") from None
    return customer


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    name: str | None = None,
    services: Sequence[Service] | None = None,
    components: Sequence[Component] | None = None,
    notes: str | None = None,
) -> Customer:
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if name is not None:
        customer.name = one_line(name)
    if notes is not None:
        customer.notes = notes.strip()
    _check(customer)
    customer.save()
    if services is not None:
        customer.services.set(services)
    if components is not None:
        customer.components.set(components)
    return customer


@transaction.atomic
def customer_delete(*, customer: Customer) -> None:
    customer.delete()


_CONTACT_FIELDS = ("name", "email", "alternate_email", "phone", "preferred_channel")


def _contact_values(values: dict) -> dict:
    cleaned = {}
    for name in _CONTACT_FIELDS:
        if name in values and values[name] is not None:
            cleaned[name] = one_line(str(values[name]))
    for name in ("email", "alternate_email"):
        if name in cleaned:
            cleaned[name] = cleaned[name].lower()
    return cleaned


@transaction.atomic
def contact_create(*, customer: Customer, **values) -> Contact:
    contact = Contact(customer=customer, **_contact_values(values))
    _check(contact)
    contact.save()
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, **values) -> Contact:
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    for name, value in _contact_values(values).items():
        setattr(contact, name, value)
    _check(contact)
    contact.save()
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    contact.delete()


# --- CSV import -----------------------------------------------------------------------------------


@dataclass
class ImportResult:
    customers_created: int = 0
    customers_updated: int = 0
    contacts_created: int = 0
    contacts_updated: int = 0

    def __str__(self) -> str:
        return (
            f"{self.customers_created} customers added, {self.customers_updated} updated; "
            f"{self.contacts_created} contacts added, {self.contacts_updated} updated."
        )


def _channel(cell: str) -> str:
    """A preferred channel by its value or its label ("phone", "Alternate e-mail"); e-mail when empty."""
    wanted = one_line(cell).lower().replace("-", "").replace(" ", "_")
    if not wanted:
        return Contact.Channel.EMAIL
    for value, label in Contact.Channel.choices:
        if wanted in (value, label.lower().replace("-", "").replace(" ", "_")):
            return value
    return wanted  # refused by the contact's own check, with the choices


def _names(cell: str) -> list[str]:
    return [one_line(name) for name in (cell or "").split(";") if one_line(name)]


@transaction.atomic
def customers_import_csv(*, text: str) -> ImportResult:
    """Add or update customers and contacts from CSV; all of it, or nothing with the reasons.

    A customer is matched by name, a contact by its customer and primary e-mail. The
    services and components of a row (names, separated by ";") are added to its customer.
    """
    if not isinstance(text, str) or not text.strip():
        raise CustomerError("The file is empty.")
    if len(text.encode("utf-8", "surrogatepass")) > CSV_MAX_BYTES:
        raise CustomerError(f"The file is larger than {CSV_MAX_BYTES:,} bytes: import it in parts.")
    if "\x00" in text:
        raise CustomerError("The file holds a NUL character: is it really a CSV text file?")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [one_line(h or "").lower() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_REQUIRED if c not in header]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if missing or unknown:
        raise CustomerError(
            "The first line names the columns: "
            + ", ".join(CSV_COLUMNS)
            + (f". Missing: {', '.join(missing)}" if missing else "")
            + (f". Unknown: {', '.join(unknown)[:200]}" if unknown else "")
            + "."
        )
    reader.fieldnames = header
    services: dict[str, list] = {}
    for service in Service.objects.all():
        services.setdefault(service.name.lower(), []).append(service)
    components: dict[str, list] = {}
    for component in Component.objects.filter(is_group=False):
        components.setdefault(component.name.lower(), []).append(component)
    customers = {c.name.lower(): c for c in Customer.objects.all()}
    result = ImportResult()
    problems: list[str] = []
    touched: set[int] = set()
    try:
        rows = list(reader)
    except csv.Error as error:
        raise CustomerError(f"The file is not valid CSV: {error}") from None
    if len(rows) > CSV_MAX_ROWS:
        raise CustomerError(f"At most {CSV_MAX_ROWS:,} lines at a time: import it in parts.")
    for number, row in enumerate(rows, start=2):
        if None in row:
            problems.append(f"Line {number}: more cells than columns.")
            continue
        cells = {key: (value or "") for key, value in row.items()}
        name = one_line(cells.get("customer", ""))
        if not name:
            problems.append(f"Line {number}: no customer name.")
            continue
        created = False
        try:
            with transaction.atomic():
                customer = customers.get(name.lower())
                if customer is None:
                    customer = customer_create(name=name)
                    customers[name.lower()] = customer
                    created = True
                for label, known, relation in (
                    ("service", services, customer.services),
                    ("component", components, customer.components),
                ):
                    for wanted in _names(cells.get(f"{label}s", "")):
                        found = known.get(wanted.lower(), [])
                        if len(found) != 1:
                            what = "no" if not found else "more than one"
                            raise CustomerError(f"there is {what} {label} called {wanted[:100]!r}")
                        relation.add(found[0])
                values = {
                    "name": cells.get("contact", ""),
                    "email": cells.get("email", ""),
                    "alternate_email": cells.get("alternate_email", ""),
                    "phone": cells.get("phone", ""),
                    "preferred_channel": _channel(cells.get("preferred_channel", "")),
                }
                email = one_line(values["email"]).lower()
                existing = Contact.objects.filter(customer=customer, email=email).first() if email else None
                if existing is None:
                    contact_create(customer=customer, **values)
                    result.contacts_created += 1
                else:
                    contact_update(contact=existing, **values)
                    result.contacts_updated += 1
        except CustomerError as error:
            problems.append(f"Line {number}: {error}")
            if created:  # rolled back with the line
                customers.pop(name.lower(), None)
            continue
        if created:
            result.customers_created += 1
            touched.add(customer.pk)
        elif customer.pk not in touched:
            result.customers_updated += 1
            touched.add(customer.pk)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = len(problems) - len(shown)
        raise CustomerError(
            "Nothing was imported. " + " ".join(shown) + (f" And {more} more problems." if more else "")
        )
    return result
