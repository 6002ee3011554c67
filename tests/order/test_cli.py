"""``siyu import orders FILE --platform taobao --corp SLUG``: the import in this process, with the
report and the rejects path printed at the end."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from siyu.cli import app as cli
from siyu.kit.settings import get_settings
from tests.order import files
from tests.order.test_validation import BAD_FILE


@pytest.fixture
def environment(monkeypatch, database_url, database, tmp_path):
    monkeypatch.setenv("SIYU_DATABASE_URL", database_url)
    monkeypatch.setenv("SIYU_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SIYU_DEFAULT_LANGUAGE", "zh-CN")
    get_settings.cache_clear()
    yield tmp_path / "var"
    get_settings.cache_clear()


def test_the_cli_imports_a_file_and_prints_the_report(environment, database, clock, brand, tmp_path):
    # given a Taobao export with bad rows
    alpha = brand[0]
    path = files.write(tmp_path / "ExportOrderList", "gbk", files.TAOBAO_HEADER, BAD_FILE)

    # when it is imported from the command line
    result = CliRunner().invoke(cli, ["import", "orders", str(path), "--platform", "taobao", "--corp", "alpha",
                                      "--shop", "果园旗舰店"])

    # then it succeeds and says what happened, row by row, and where the rejects are
    assert result.exit_code == 0, result.output
    rejects = environment.resolve() / "imports" / str(alpha.corp_id) / "1-rejects.csv"
    lines = result.output.splitlines()
    assert "导入 #1：已完成。已处理 8 行；新增 2，更新 0，未变 0；拒绝 6 行" in lines
    assert "  第 4 行 · 买家实际支付金额：金额无法识别（12,3.4x）" in lines
    assert f"被拒绝的行及原因：{rejects}" in lines
    with rejects.open(encoding="utf-8-sig") as handle:
        assert len(list(csv.reader(handle))) == 7
    assert [o.shop for o in files.stored_orders(database, alpha.corp_id)] == ["果园旗舰店"] * 2

    # and a second run of the same file changes nothing
    again = CliRunner().invoke(cli, ["import", "orders", str(path), "--platform", "taobao", "--corp", "alpha",
                                     "--shop", "果园旗舰店"])
    assert "导入 #2：已完成。已处理 8 行；新增 0，更新 0，未变 2；拒绝 6 行" in again.output.splitlines()


@pytest.mark.parametrize(("arguments", "message"), [
    (["--platform", "pinduoduo", "--corp", "alpha"], "不支持的平台 pinduoduo"),
    (["--platform", "taobao", "--corp", "nobody"], "企业 nobody 不存在"),
    (["--platform", "taobao", "--corp", "alpha", "--mapping", "{oops"], "列映射须是 JSON 对象"),
])
def test_the_cli_refuses_bad_arguments_and_imports_nothing(environment, database, brand, tmp_path, arguments,
                                                           message):
    path = files.write(tmp_path / "orders", "bom", files.TAOBAO_HEADER, files.TAOBAO_ROWS)

    result = CliRunner().invoke(cli, ["import", "orders", str(path), *arguments])

    assert result.exit_code == 1
    assert message in result.output
    assert files.stored_orders(database, brand[0].corp_id) == []
