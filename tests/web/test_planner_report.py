"""The printable report: a real PDF whose text a reader (pdftotext) finds."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.web.test_planner import CITY, app_config, seed  # noqa: F401  (fixture)


def pdf_text(body: bytes, tmp_path: Path) -> str:
    """The text a reader extracts from the PDF (pypdf), pages joined."""
    from pypdf import PdfReader

    path = tmp_path / "report.pdf"
    path.write_bytes(body)
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_report_pdf_holds_inputs_districts_sites_and_sources(
    client: FlaskClient, db: Session, tmp_path: Path
) -> None:
    seed(db, station_name="城中驿站")
    page = client.get("/planner/", query_string={"city": CITY, "p": "1"}).get_data(as_text=True)
    assert "/planner/report.pdf?" in page
    response = client.get("/planner/report.pdf", query_string={"city": CITY, "p": "1"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = pdf_text(response.data, tmp_path)
    assert "户外劳动者服务站点覆盖规划" in text
    assert "上海市" in text and "黄浦区" in text  # inputs and the district table
    assert "新建站点数量" in text and "500 m" in text
    assert "50.0 %" in text and "100.0 %" in text  # before and after the proposed site
    assert "已证明最优" in text
    assert "建议选址" in text and "覆盖曲线" in text and "数据来源" in text
    assert "test-activity" in text  # the dataset named among the sources


def test_report_without_sites_is_coverage_only(
    client: FlaskClient, db: Session, tmp_path: Path
) -> None:
    seed(db)
    response = client.get(
        "/planner/report.pdf", query_string={"city": CITY}, headers={"Accept-Language": "en"}
    )
    text = pdf_text(response.data, tmp_path)
    assert "Coverage by district" in text and "Proposed sites" not in text
    assert "Rest station coverage plan" in text
