"""The benchmarks read the whole machine's CPU from /proc/stat: busy, idle and stolen."""

import os

import pytest

from benchmarks.http_load import MachineCpu, machine_cpu

TICK = os.sysconf("SC_CLK_TCK")
#: user nice system idle iowait irq softirq steal guest guest_nice, in clock ticks
BEFORE = "cpu  1000 10 300 5000 40 5 45 100 0 0\ncpu0 500 5 150 2500 20 2 20 50 0 0\n"
AFTER = "cpu  1600 10 500 5100 60 10 95 300 0 0\ncpu0 800 5 250 2550 30 5 45 150 0 0\n"


def test_the_first_line_counts_every_core_in_seconds() -> None:
    assert machine_cpu(BEFORE) == MachineCpu(
        busy=(1000 + 10 + 300 + 5 + 45) / TICK, idle=(5000 + 40) / TICK, stolen=100 / TICK
    )


def test_the_difference_is_what_the_machine_did_in_between() -> None:
    spent = machine_cpu(AFTER) - machine_cpu(BEFORE)

    assert spent.busy * TICK == pytest.approx(600 + 200 + 5 + 50)
    assert spent.idle * TICK == pytest.approx(100 + 20)
    assert spent.stolen * TICK == pytest.approx(200)
    assert spent.share_idle == pytest.approx(120 / (855 + 120 + 200))
    assert spent.share_stolen == pytest.approx(200 / (855 + 120 + 200))


def test_it_reads_this_machine_when_given_nothing() -> None:
    now = machine_cpu()

    assert now.busy > 0
    assert now.idle >= 0
    assert now.stolen >= 0
