"""`xgrad train --amp` and `--grad-report N`."""

from xgrad import cli


def test_train_with_amp_and_a_grad_report_every_2_epochs(capsys):
    assert cli.main(["train", "--backend", "numpy", "--epochs", "4", "--no-progress", "--dtype", "float32", "--amp",
                     "--grad-report", "2", "--samples", "200"]) == 0
    out = capsys.readouterr().out
    assert out.count("gradient flow of the last step") == 2
    assert "epoch 2: loss" in out and "epoch 4: loss" in out
    table = out.split("epoch 4: loss")[1].splitlines()
    assert table[1].split()[:3] == ["parameter", "shape", "grad"]
    assert table[3].startswith("0.weight   32x2") and table[3].endswith("OK")
    final = [line for line in out.splitlines() if line.startswith("final: accuracy")][0]
    assert float(final.split()[2].rstrip("%")) > 70.0  # float16 forward still learns the moons


def test_train_amp_refuses_compile_and_float16_weights(capsys):
    assert cli.main(["train", "--epochs", "1", "--no-progress", "--amp", "--compile"]) != 0
    assert "--amp keeps float32/float64 weights" in capsys.readouterr().err
    assert cli.main(["train", "--epochs", "1", "--no-progress", "--amp", "--dtype", "float16"]) != 0
    assert cli.main(["train", "--backend", "array_api_strict", "--epochs", "1", "--no-progress", "--dtype",
                     "float32", "--amp"]) != 0
    assert "the array_api_strict backend has no float16" in capsys.readouterr().err
