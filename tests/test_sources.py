"""The company register: the KBO Open Data adapter, its fictional sample and the CLI."""

import csv
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import yaml
from stdnum.be import vat

import sources
from helpers import enterprise_number
from models import RegisterEntry
from sources import (
    Activity,
    Address,
    CompanyFunction,
    CompanyRecord,
    RegisterFileError,
    is_establishment_number,
    normalize_enterprise_number,
)
from sources import kbo_open_data as kbo
from sources.sorted_csv import sorted_through_disk

SAMPLE = Path(sources.__file__).resolve().parent / "kbo_sample"
IDENTITIES = Path(__file__).resolve().parents[1] / "fas_standin" / "identities.yaml"
AGENCE = "0566988259"
MARIE, JEAN, SOFIA, CHRISTINE = "93051822361", "42012205181", "05010100113", "67112031188"


def sample_rows(name):
    with open(SAMPLE / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def digits(number):
    return number.replace(".", "")


def entries():
    return {e.enterprise_number: (e.name, e.data) for e in RegisterEntry.select()}


def record_named(name):
    entry = RegisterEntry.get(RegisterEntry.name == name)
    return sources.company_register().lookup(entry.enterprise_number)


@pytest.fixture
def register(ctx):
    return sources.company_register()


@pytest.fixture
def loaded(register):
    return register.load(SAMPLE)


def test_the_sample_loads_every_line(loaded):
    enterprises = sample_rows("enterprise.csv")
    enterprise_lines = [
        r for r in sample_rows("activity.csv") if r["EntityNumber"][0] in "01"
    ]  # establishment units' activities are not part of the record
    assert len(enterprises) >= 22
    assert loaded.enterprises == len(enterprises) == RegisterEntry.select().count()
    assert loaded.establishments == len(sample_rows("establishment.csv"))
    assert loaded.denominations == len(sample_rows("denomination.csv"))
    assert loaded.addresses == len(sample_rows("address.csv"))
    assert loaded.activities == len(enterprise_lines)
    assert loaded.functions == len(sample_rows("function.csv"))
    assert loaded.skipped == Counter()
    assert loaded.removed == 0


def test_lookup_gives_the_whole_record(loaded, register):
    record = register.lookup("0566.988.259")

    assert record.enterprise_number == AGENCE
    assert record.formatted_number == "0566.988.259"
    assert record.name == "Agence Intérim Liège"
    assert record.legal_form == "014"
    assert record.legal_form_label == "Société anonyme"
    assert record.is_commercial_form is True
    assert record.is_natural_person is False
    assert (record.legal_situation, record.legal_situation_label) == ("000", "Situation normale")
    assert record.is_active is True
    assert record.start_date == date(2012, 3, 1)
    # The former seat, struck off in 2019, is not the address.
    assert record.address == Address("Rue Saint-Gilles", "58", "", "4000", "Liège", "Belgique")

    units = {u["EstablishmentNumber"]: u for u in sample_rows("establishment.csv")}
    mine = sorted(digits(n) for n, u in units.items() if digits(u["EnterpriseNumber"]) == AGENCE)
    assert [e.number for e in record.establishments] == mine
    assert [(e.name, e.address.municipality, e.address.box) for e in record.establishments] == [
        (None, "Huy", "2"),
        ("Agence Intérim Liège – Verviers", "Verviers", ""),
        ("Agence Intérim Liège – Centre", "Liège", ""),
    ]
    assert record.establishments[1].start_date == date(2016, 9, 15)

    # Lines of both VAT and social security groups give one activity each.
    assert record.nace == (
        Activity(
            "78.200",
            "2025",
            "MAIN",
            "Activités des agences de travail intérimaire et autre mise à disposition de "
            "ressources humaines",
        ),
        Activity("78.200", "2008", "MAIN", "Activités des agences de travail intérimaire"),
        Activity("78.100", "2008", "SECO", "Activités des agences de placement de main-d'œuvre"),
        Activity("78.300", "2008", "SECO", "Autre mise à disposition de ressources humaines"),
    )
    assert record.functions == (
        CompanyFunction(
            MARIE, "Dubois", "Marie", "011", "Administrateur délégué", date(2012, 3, 1)
        ),
        CompanyFunction(
            CHRISTINE, "Wauters", "Christine", "010", "Administrateur", date(2012, 3, 1)
        ),
    )
    assert record.is_legal_representative(MARIE)
    assert not record.is_legal_representative(JEAN)
    assert CompanyRecord.from_dict(record.to_dict()) == record
    assert register.lookup("BE 0566 988 259") == record


@pytest.mark.parametrize(
    ("name", "form_label", "commercial", "representative"),
    [
        ("Wallonie Placement", "Association sans but lucratif", False, SOFIA),
        ("Recrutement Namur", "Société à responsabilité limitée", True, MARIE),
        ("Coopérative Emploi Solidaire", "Société coopérative", True, None),
        ("Dupont & Fils", "Société en nom collectif", True, None),
        ("Collard & Associés", "Société en commandite simple", True, None),
        ("Fondation Insertion Wallonie", "Fondation privée", False, CHRISTINE),
        ("Ancienne Agence Verviers", "Société privée à responsabilité limitée", True, None),
    ],
)
def test_legal_forms_and_representatives(loaded, name, form_label, commercial, representative):
    record = record_named(name)
    assert record.legal_form_label == form_label
    assert record.is_commercial_form is commercial
    if representative:
        assert record.is_legal_representative(representative)


def test_natural_person_stopped_and_bankrupt_enterprises(loaded):
    person = record_named("Lemaire, Julie")
    assert person.is_natural_person
    assert (person.legal_form, person.legal_form_label, person.is_commercial_form) == (
        None,
        None,
        False,
    )
    assert person.functions == ()

    bankrupt = record_named("Placement Express")
    assert bankrupt.is_active and bankrupt.legal_situation_label == "Ouverture de faillite"

    stopped = record_named("Ancienne Agence Verviers")
    assert not stopped.is_active
    assert stopped.legal_situation_label == "Clôture de liquidation"


def test_addresses_are_in_french_and_names_fall_back_to_the_official_one(loaded):
    brussels = record_named("Intérim Bruxelles Capitale")
    assert (brussels.address.street, brussels.address.municipality) == (
        "Rue de la Loi",
        "Bruxelles",
    )
    # No French denomination: the first official one.
    assert record_named("Gentse Uitzendkrachten").address.municipality == "Gent"


def test_lookup_of_an_unknown_number_gives_none(loaded, register):
    unknown = enterprise_number(7_654_321)
    assert not RegisterEntry.select().where(RegisterEntry.enterprise_number == unknown).exists()
    assert register.lookup(unknown) is None


@pytest.mark.parametrize(
    "text", ["0566.988.259", "0566 988 259", "BE0566988259", "566988259", " be 0566.988.259 "]
)
def test_normalize_accepts_the_usual_ways_of_writing_a_number(text):
    assert normalize_enterprise_number(text) == AGENCE


@pytest.mark.parametrize("text", ["0566.988.258", "2566.988.259", "12345", "", None])
def test_normalize_rejects_invalid_numbers_in_french(text):
    with pytest.raises(ValueError, match="n'est pas un numéro d'entreprise valide"):
        normalize_enterprise_number(text)


def test_loading_twice_changes_nothing(loaded, register):
    first = entries()
    again = register.load(SAMPLE)
    assert entries() == first
    assert (again.enterprises, again.removed, again.skipped) == (loaded.enterprises, 0, Counter())


def test_spilled_sort_and_small_batches_give_the_same_records(loaded, monkeypatch, register):
    first = entries()
    RegisterEntry.delete().execute()
    monkeypatch.setattr(kbo, "SORT_CHUNK", 2)
    monkeypatch.setattr(kbo, "BATCH_SIZE", 3)
    register.load(SAMPLE)
    assert entries() == first


def test_sorting_through_disk_keeps_every_item(tmp_path):
    items = [[k, i] for i, k in enumerate("qwertyuiopasdfghjklzxcvbnm")]
    result = list(sorted_through_disk(iter(items), lambda x: x[0], tmp_path, chunk_size=4))
    assert result == sorted(items)
    assert len(list(tmp_path.iterdir())) == 7


def test_a_folder_without_enterprise_csv_is_refused(runner, tmp_path):
    folder = tmp_path / "dump"
    shutil.copytree(SAMPLE, folder)
    (folder / "enterprise.csv").unlink()
    result = runner.invoke(args=["register", "load", str(folder)])
    assert result.exit_code != 0
    assert "has no enterprise.csv" in result.output
    assert RegisterEntry.select().count() == 0


def test_an_empty_enterprise_file_does_not_empty_the_table(loaded, register, tmp_path):
    folder = tmp_path / "dump"
    shutil.copytree(SAMPLE, folder)
    (folder / "enterprise.csv").write_text(
        (SAMPLE / "enterprise.csv").read_text(encoding="utf-8").splitlines()[0] + "\n"
    )
    with pytest.raises(RegisterFileError, match="holds no enterprise"):
        register.load(folder)
    assert RegisterEntry.select().count() == loaded.enterprises


def write_dump(folder, **files):
    """A dump with the sample's code.csv and the given files (header and lines)."""
    folder.mkdir()
    shutil.copy(SAMPLE / "code.csv", folder / "code.csv")
    for name in ("enterprise", "denomination", "address", "activity", "establishment", "function"):
        header = (SAMPLE / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0]
        lines = files.get(name, [])
        (folder / f"{name}.csv").write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return folder


MALFORMED = {
    "enterprise": [
        '"0314.595.348","AC","000","2","017",,10-01-2005',
        '"0566.988.258","AC","000","2","014",,01-03-2012',  # bad checksum
        '"0566.988.259","AC","000","2","014",,31-02-2012',  # no such date
        '"0582.060.970","AC","000","2","610",,03-02-2020',
    ],
    "denomination": [
        '"0314.595.348","1","001","Wallonie Placement"',
        '"0582.060.970","1","001","Travail Temporaire Mons"',
    ],
    "address": [
        '"0314.595.348","REGO",,,"5000","Namur","Namur","Rue A","Rue A","1","","",',
        '"0403.019.261","REGO",,,"5000","Namur","Namur","Rue B","Rue B","2","","",',  # unknown
        '"0582.060.970","REGO",,,"7000","Mons","Mons","Rue C","Rue C","3","","",',
    ],
    "function": [
        '"0314.595.348","05010100113","Peeters","Sofia","010",01-06-2023',
        '"0582.060.970","85063024599","Renard","Nathalie","012",03-02-2020',  # bad check
    ],
}


def test_malformed_lines_are_skipped_and_counted(runner, register, tmp_path):
    folder = write_dump(tmp_path / "dump", **MALFORMED)
    result = runner.invoke(args=["register", "load", str(folder)])
    assert result.exit_code == 0, result.output
    assert set(entries()) == {"0314595348", "0582060970"}
    for line in (
        "Enterprises loaded: 2",
        "Lines skipped: 4",
        "invalid enterprise or establishment unit number: 1",
        "invalid date: 1",
        "unknown enterprise: 1",
        "invalid national register number: 1",
    ):
        assert line in result.output
    mons = register.lookup("0582060970")
    assert (mons.name, mons.address.street, mons.functions) == (
        "Travail Temporaire Mons",
        "Rue C",
        (),
    )


def test_a_new_dump_removes_the_enterprises_it_no_longer_has(loaded, register, tmp_path):
    summary = register.load(write_dump(tmp_path / "dump", **MALFORMED))
    assert summary.removed == loaded.enterprises - 2
    assert register.lookup(AGENCE) is None


def test_show_prints_a_record_and_refuses_unknown_or_invalid_numbers(loaded, runner):
    shown = runner.invoke(args=["register", "show", "BE0566988259"])
    assert shown.exit_code == 0, shown.output
    assert "Agence Intérim Liège" in shown.output
    assert "Marie Dubois" in shown.output

    unknown = runner.invoke(args=["register", "show", enterprise_number(7_654_321)])
    assert unknown.exit_code == 1
    assert "has no enterprise" in unknown.output

    invalid = runner.invoke(args=["register", "show", "0566.988.258"])
    assert invalid.exit_code == 1
    assert "is not a valid enterprise number" in invalid.output


def test_load_sample_if_empty_loads_once(ctx):
    first = sources.load_sample_if_empty()
    assert first.enterprises == RegisterEntry.select().count() > 0
    assert sources.load_sample_if_empty() is None


def test_a_duplicate_register_id_is_refused():
    with pytest.raises(ValueError, match="registered twice"):

        @sources.register("kbo-open-data")
        class Other(sources.CompanyRegister):
            pass

    assert sources.REGISTERS["kbo-open-data"] is kbo.KboOpenData


def test_the_config_chooses_the_adapter():
    assert isinstance(sources.get_register({}), kbo.KboOpenData)
    assert isinstance(sources.get_register({"COMPANY_REGISTER": "kbo-open-data"}), kbo.KboOpenData)
    with pytest.raises(RuntimeError, match="COMPANY_REGISTER='nope' is unknown"):
        sources.get_register({"COMPANY_REGISTER": "nope"})


def test_every_number_of_the_sample_passes_stdnum():
    enterprises = [r["EnterpriseNumber"] for r in sample_rows("enterprise.csv")]
    units = sample_rows("establishment.csv")
    assert all(vat.is_valid(n) for n in enterprises)
    assert all(vat.is_valid(u["EnterpriseNumber"]) for u in units)
    assert all(is_establishment_number(digits(u["EstablishmentNumber"])) for u in units)
    for name in ("denomination.csv", "address.csv", "activity.csv", "function.csv"):
        for row in sample_rows(name):
            number = digits(row["EntityNumber"])
            assert vat.is_valid(number) or is_establishment_number(number), (name, number)
    for required in ("0566.988.259", "0314.595.348", "0202.239.951"):
        assert required in enterprises


def test_every_legal_representative_of_the_sample_is_a_test_identity():
    people = {
        p["national_number"]: (p["surname"], p["given_name"])
        for p in yaml.safe_load(IDENTITIES.read_text(encoding="utf-8"))
    }
    functions = sample_rows("function.csv")
    for row in functions:
        assert people.get(row["NationalNumber"]) == (row["Surname"], row["GivenName"]), row
    companies_of = Counter(row["NationalNumber"] for row in functions)
    assert companies_of[CHRISTINE] >= 3
    assert len(companies_of) >= 5
    assert not any(
        r["NationalNumber"] == JEAN and r["EntityNumber"] == "0566.988.259" for r in functions
    )
