"""The toolkit definition alone decides the questions: pages, checks and completeness."""

from __future__ import annotations

import copy

import pytest

from sct_forms.domain import toolkit_definition
from sct_forms.domain.forms import Form
from sct_forms.domain.toolkit_definition import parse_definition, read_definition_data
from tests.toolkit_helpers import make_toolkit


@pytest.fixture
def definition_with_extra_question(monkeypatch):
    data = copy.deepcopy(read_definition_data("2024.1"))
    data["steps"][0]["questions"].append(
        {
            "key": "budget_source",
            "label": {"en": "Where does the money come from?", "es": "¿De dónde viene el dinero?"},
            "hint": {"en": "Name the grant or budget line.", "es": "Nombre la subvención."},
            "type": "short_text",
            "required": True,
            "max_length": 40,
        }
    )
    extended = parse_definition(data)
    real = toolkit_definition.load_definition

    def load(version: str, form: str = Form.TOOLKIT):
        return extended if (version, form) == ("2024.1", Form.TOOLKIT) else real(version, form)

    # Every module that imported the function by name, whenever it was first imported.
    for module in (
        "sct_forms.domain.toolkit_definition",
        "sct_forms.toolkits.services",
        "sct_forms.access",
        "sct_forms.documents.packets",
        "sct_forms.toolkits.labels",
    ):
        monkeypatch.setattr(f"{module}.load_definition", load)
    return extended


def test_a_new_question_appears_on_the_page_in_checks_and_in_completeness(
    definition_with_extra_question, as_user, staff_user, cycle, catalog
):
    toolkit = make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    client = as_user(staff_user)
    page = client.get(f"/toolkits/{toolkit.id}/steps/context").get_data(as_text=True)
    assert "Where does the money come from?" in page and 'name="budget_source"' in page

    check = client.post(
        f"/toolkits/{toolkit.id}/steps/context/check",
        data={"field": "budget_source", "budget_source": "x" * 41},
        headers={"HX-Request": "true"},
    )
    assert check.status_code == 422
    assert "Use 40 characters or fewer" in check.get_data(as_text=True)

    review = client.get(f"/toolkits/{toolkit.id}").get_data(as_text=True)
    assert "#q-budget_source" in review
    assert "Where does the money come from?: Answer this question." in review
