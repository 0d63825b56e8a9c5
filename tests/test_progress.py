import subprocess
import sys

from core.progress import log, progress_bar


def test_log_goes_to_stderr_only(capsys) -> None:
    log("encoding 3/10")
    out, err = capsys.readouterr()
    assert out == "" and err == "encoding 3/10\n"


def test_log_is_flushed_before_the_process_exits_hard() -> None:
    # os._exit skips buffer flushing: the line only survives if log() flushed it itself
    code = "import os; from core.progress import log; log('half way'); os._exit(0)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stderr == "half way\n" and done.stdout == ""


def test_progress_bar_only_draws_the_phases_asked_for(capsys) -> None:
    bar = progress_bar("  demo", phases={"encode"})
    bar("hash", 1, 2)
    assert capsys.readouterr().err == ""
    bar("encode", 2, 4)
    bar.close()
    assert "demo" in capsys.readouterr().err
