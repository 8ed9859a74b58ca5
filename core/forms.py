"""Form fields every app's forms share."""

from django import forms

# The range of the database's integer ids (a BIGINT). SQLite cannot even be asked about a number
# outside it: the driver raises OverflowError, which was a 500 (found by tests/fuzz/test_more_fields.py).
ID_MIN, ID_MAX = -(2**63), 2**63 - 1


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's field, refusing an id no integer column can hold as "not one of the choices"."""

    def _check_values(self, value):
        for pk in value:
            try:
                number = int(str(pk))
            except ValueError:
                continue  # Django's own check says what is wrong with it.
            if not ID_MIN <= number <= ID_MAX:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)
