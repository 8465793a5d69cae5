"""Property-based fuzzing of the ``nasjax`` command (issue 16).

Generated arch strings, CLI arguments, sweep spec files, users' files, measurement
files and data-folder files go through ``nasjax.cli.main`` in-process. Each run must
end in success, or exit code 2 with one error line (notes and warnings aside); never
a traceback; and leave no partial file (no temporary file, every JSON/parquet output
readable). The work itself (a search, a training, a timing) is replaced by a sentinel
that ends the run when it is reached, so only the checks before the work run: a
generated input that reaches it counts as accepted. Each test asserts how many inputs
it generated: together at least 1,000 with ``--hypothesis-profile=thorough``, a quarter
of that in the default ``ci`` profile (``tests/conftest.py``).
"""

import contextlib
import io
import json
import pathlib
import string
import tempfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from nasjax import cli, data, spaces, sweep
from nasjax.spaces import nb201

SETTINGS = dict(
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
CELLS = (
    "|none~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|",
    "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~2|",
    "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|",
)
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def examples(thorough: int) -> int:
    """The number of examples for a property that draws ``thorough`` in the thorough
    profile, scaled by the loaded profile's ``max_examples`` (100 when thorough)."""
    return max(1, thorough * settings().max_examples // 100)


class WorkStarted(BaseException):
    """Raised where the real work would start: the input was accepted."""


def _work(*args, **kwargs):
    raise WorkStarted


@pytest.fixture
def fuzz_env(monkeypatch, tmp_path, nb201_table):
    """In a scratch working folder, with every work entry point a sentinel and the
    default table the shipped one, loaded once per worker."""
    from nasjax import measure, search, surrogates
    from nasjax.cli import measure as measure_cli

    original_load = data.load_table

    def load_table(space="nb201", folder=None, **options):
        if space == "nb201" and folder is None:
            return nb201_table
        return original_load(space, folder, **options)

    original_archs = measure_cli._archs

    def archs(args, space):
        if args.sample is not None:
            raise WorkStarted  # drawing a sample compiles for its size
        if args.archs in (None, "all") and args.space == "nb201":
            return space.from_strings(list(CELLS))  # all 15,625 would compile anew
        return original_archs(args, space)

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NASJAX_DATA", raising=False)  # data check: only what ships
    monkeypatch.setattr(data, "load_table", load_table)
    monkeypatch.setattr(search, "run_seeds", _work)
    monkeypatch.setattr(sweep.store, "run_config", _work)
    monkeypatch.setattr(search, "run_sharded", _work)
    monkeypatch.setattr(surrogates, "train_predictor", _work)
    monkeypatch.setattr(measure, "time_network", _work)
    monkeypatch.setattr(measure, "pin_cores", _work)
    monkeypatch.setattr(measure_cli, "_archs", archs)
    return tmp_path


def invoke(argv: list[str]) -> tuple[object, str, str]:
    """``nasjax argv`` in-process: (exit code or "work", stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exit_:
            code = exit_.code
        except WorkStarted:
            code = "work"
    return code, out.getvalue(), err.getvalue()


def _refuse(name):
    raise ValueError(f"{name} in JSON")


def check_outcome(result, *outputs: pathlib.Path) -> bool:
    """Asserts the contract; returns whether the input was refused (exit 2)."""
    code, printed, err = result
    assert "Traceback" not in err
    if code == 2:
        lines = [
            line
            for line in err.strip().splitlines()
            if not line.startswith(("nasjax: note:", "nasjax: warning:"))
        ]
        if "choose a command" not in err:  # a bare command prints its usage
            assert len(lines) == 1, err
        assert lines[-1].startswith("nasjax")
    else:
        assert code in (0, "work"), (code, err)
    for output in outputs:
        for path in output.rglob("*") if output.is_dir() else [output]:
            assert not path.name.endswith(".tmp"), f"partial file {path}"
            if path.suffix == ".json" and path.parent.name != "configs":
                json.loads(path.read_text(), parse_constant=_refuse)
            if path.suffix == ".parquet" and path.is_file():
                pd.read_parquet(path)
    return code == 2


# ------------------------------------------------------------ arch strings
def _mutated_arch(draw_text: str, base: str, position: int, kind: int) -> str:
    position %= len(base) + 1
    if kind == 0:  # insert text
        return base[:position] + draw_text + base[position:]
    if kind == 1:  # cut
        return base[:position]
    if kind == 2:  # replace a character
        return base[:position] + draw_text[:1] + base[position + 1 :]
    return draw_text


arch_texts = st.builds(
    _mutated_arch,
    st.text(alphabet=string.printable + "~|+é\0", max_size=12),
    st.sampled_from(CELLS),
    st.integers(0, 80),
    st.integers(0, 3),
)


def test_fuzz_arch_strings_parse_or_raise_value_error():
    count = {"inputs": 0, "bad": 0}
    space, fbnet = nb201(), spaces.get("fbnet")

    @settings(max_examples=examples(300), **SETTINGS)
    @given(arch_texts)
    def property_(text):
        count["inputs"] += 1
        refused = 0
        for parser in (space, fbnet):
            try:
                arch = parser.from_string(text)
            except ValueError:
                refused += 1
                continue
            assert parser.from_string(parser.to_string(arch)).tolist() == arch.tolist()
        count["bad"] += refused == 2

    property_()
    print(f"fuzz inputs: {count}")
    assert count["inputs"] >= examples(300) and count["bad"] >= examples(250), count


def test_fuzz_arch_files_given_to_the_cli(fuzz_env):
    count = {"inputs": 0, "bad": 0}
    user = fuzz_env / "user.csv"
    archs = nb201().from_index(np.arange(0, 15625, 500))
    lines = [f"{nb201().to_string(a)},{1.0 + i}" for i, a in enumerate(archs)]
    user.write_text("arch,value\n" + "\n".join(lines) + "\n")

    @settings(max_examples=examples(150), **SETTINGS)
    @given(st.lists(arch_texts, min_size=1, max_size=4), st.booleans())
    def property_(texts, for_measure):
        assume(any(t.strip() and not _parses(t.strip()) for t in texts))
        count["inputs"] += 1
        with tempfile.TemporaryDirectory(dir=fuzz_env) as folder:
            listed = pathlib.Path(folder) / "archs.txt"
            listed.write_bytes("\n".join(texts).encode("utf-8", "surrogatepass"))
            out = pathlib.Path(folder) / "out"
            if for_measure:
                argv = ["measure", "--archs", str(listed), "--out", f"{out}.parquet"]
            else:
                argv = ["predict", "--file", str(user), "--train-archs", str(listed)]
                argv += ["--out", str(out)]
            result = invoke([*argv, "--json"])
            count["bad"] += check_outcome(result, pathlib.Path(folder))

    property_()
    print(f"fuzz inputs: {count}")
    assert count["inputs"] >= examples(150) and count["bad"] >= examples(140), count


def _parses(text: str) -> bool:
    try:
        nb201().from_string(text)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------- CLI arguments
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(-3, 20),
    st.sampled_from([2**31, 2**32, 2**63, 10**10, -(2**63)]),
).map(str)
values = st.one_of(
    numbers,
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(alphabet=string.printable, max_size=20),
    st.sampled_from(["", "none", "all", "cifar10", "rea", "edgegpu", "nb201", "-1"]),
    st.sampled_from(["cifar100/valid_acc", "cifar10/edgegpu_latency", "x/y", "5,none"]),
)
FLAGS = {
    "search": (
        "--space --dataset --strategy --queries --seeds --seed --batch-size --data"
    ),
    "sweep": (
        "--spec --space --strategies --datasets --devices --limits --objectives "
        "--seeds --seed --queries --batch-size --hv-every --data"
    ),
    "measure": (
        "--space --dataset --archs --sample --seed --batch-size --warmup --repeats "
        "--device --cores --max-new"
    ),
    "predict": (
        "--space --column --file --arch-column --value-column --train --train-archs "
        "--predictor --mode --epochs --batch-size --validation --seed --data"
    ),
    "data": "check --data",
}


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(sorted(FLAGS)))
    flags = FLAGS[command].split()
    argv = [command]
    if command == "data" and draw(st.booleans()):
        argv.append("check")
    for flag in draw(st.lists(st.sampled_from(flags), max_size=4)):
        argv += [flag] if flag == "check" else [flag, draw(values)]
    if draw(st.booleans()):
        argv.append(draw(st.sampled_from(["--summary", "--unique", "--json", "-x"])))
    if command != "data":
        argv += ["--out", draw(st.sampled_from(["out", "out.parquet", "FILE/x", ""]))]
    return argv


def _times_nothing(argv: list[str]) -> bool:
    """``measure --max-new 0``: no work to do, so success without the sentinel."""
    values = [v for f, v in zip(argv, argv[1:]) if f == "--max-new"]
    try:
        return argv[0] == "measure" and bool(values) and int(values[-1]) == 0
    except ValueError:
        return False


def test_fuzz_cli_arguments(fuzz_env):
    count = {"inputs": 0, "bad": 0}
    (fuzz_env / "FILE").write_text("a file, not a folder")

    @settings(max_examples=examples(400), **SETTINGS)
    @given(command_lines())
    @example(["sweep", "--spec", "missing.json", "--out", "out"])  # always covered
    def property_(argv):
        count["inputs"] += 1
        result = invoke([*argv, "--json"] if "--json" not in argv else argv)
        count["bad"] += check_outcome(result, fuzz_env)
        worker = argv[0] in ("search", "predict", "measure", "sweep")
        worker = worker and "--summary" not in argv and not _times_nothing(argv)
        assert not (result[0] == 0 and worker), (
            f"{argv} ran its work: make its new entry point a sentinel in fuzz_env"
        )

    property_()
    print(f"fuzz inputs: {count}")
    assert count["inputs"] >= examples(400) and count["bad"] >= examples(300), count


# -------------------------------------------------------------- spec files
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
spec_values = {
    "space": st.sampled_from(["nb201", "nb101", "fbnet", ""]) | json_values,
    "strategies": st.lists(st.sampled_from(["rea", "random", "nsga2", "x"]))
    | json_values,
    "datasets": st.lists(st.sampled_from(["cifar10", "cifar100", "mnist"]))
    | json_values,
    "devices": st.lists(st.sampled_from(["edgegpu", "raspi4", "toaster"]))
    | json_values,
    "limits": st.lists(st.none() | st.floats(-1, 1e9) | st.integers()) | json_values,
    "seeds": st.integers(-5, 2**64) | json_values,
    "seed": st.integers(-(2**40), 2**70) | json_values,
    "queries": st.integers(-5, 2**64) | json_values,
    "objectives": st.lists(st.sampled_from(["cifar10/test_acc", "bogus"])) | st.none(),
    "batch_size": st.integers(-5, 2**40) | st.none(),
    "hv_every": st.integers(-5, 2**40) | st.none() | json_values,
    "budget": json_values,
}
spec_objects = st.fixed_dictionaries(
    {}, optional={k: v for k, v in spec_values.items()}
)


def test_fuzz_sweep_spec_files(fuzz_env):
    count = {"inputs": 0, "bad": 0}

    @settings(max_examples=examples(200), **SETTINGS)
    @given(
        st.one_of(
            spec_objects.map(json.dumps),
            json_values.map(json.dumps),
            st.text(max_size=40),
        )
    )
    @example('{"hv_every": 0}')  # these refusals always covered
    @example('{"limits": [1.0]}')
    def property_(text):
        count["inputs"] += 1
        with tempfile.TemporaryDirectory(dir=fuzz_env) as folder:
            spec = pathlib.Path(folder) / "spec.json"
            spec.write_text(text, encoding="utf-8", errors="surrogatepass")
            out = pathlib.Path(folder) / "out"
            argv = ["sweep", "--spec", str(spec), "--out", str(out), "--json"]
            count["bad"] += check_outcome(invoke(argv), out)

    property_()
    print(f"fuzz inputs: {count}")
    assert count["inputs"] >= examples(200) and count["bad"] >= examples(150), count


# --------------------------------------------------------------- user files
cells = st.sampled_from([nb201().to_string(a) for a in nb201().from_index(range(40))])
cell_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(0.1, 100).map(repr),
    st.sampled_from(["", "fast", "1e400", "-0", "NaN", '"3"']),
)


@st.composite
def user_files(draw):
    header = draw(st.sampled_from(["arch,value", "arch,latency", "value", "a,b,c"]))
    rows = draw(
        st.lists(
            st.tuples(cells | arch_texts.filter(lambda t: "\n" not in t), cell_values),
            max_size=40,
        )
    )
    lines = [header] + [f"{a.replace(',', ';')},{v}" for a, v in rows]
    return "\n".join(lines) + "\n"


def test_fuzz_user_files_given_to_predict(fuzz_env):
    count = {"inputs": 0, "bad": 0}

    @settings(max_examples=examples(200), **SETTINGS)
    @given(user_files(), st.integers(2, 30), st.booleans())
    @example('arch,value\n"x,1\n', 10, False)  # unreadable as CSV: always covered
    def property_(text, train, higher_is_better):
        count["inputs"] += 1
        with tempfile.TemporaryDirectory(dir=fuzz_env) as folder:
            user = pathlib.Path(folder) / "user.csv"
            user.write_text(text, encoding="utf-8", errors="surrogatepass")
            out = pathlib.Path(folder) / "out"
            argv = ["predict", "--file", str(user), "--train", str(train)]
            argv += ["--out", str(out), "--json"]
            argv += ["--higher-is-better"] if higher_is_better else []
            count["bad"] += check_outcome(invoke(argv), out)

    property_()
    print(f"fuzz inputs: {count}")
    assert count["inputs"] >= examples(200) and count["bad"] >= examples(150), count


# --------------------------------------------------------- measurement files
def measurement_frame(rows: list[tuple[str, float]]) -> pd.DataFrame:
    """A measurement file's frame of ``(arch_str, latency_ms)`` rows."""
    from nasjax.data import measured

    frame = measured.empty_measurements()
    for i, (arch, latency) in enumerate(rows):
        frame.loc[i] = {
            **{name: 0 for name in measured.COLUMNS},
            "arch_str": arch,
            "measured_as": arch,
            "latency_ms": latency,
            "space": "nb201",
            "dataset": "ImageNet16-120",
            "batch_size": 1,
            "backend": "cpu",
            "device_kind": "cpu",
            "host_cpu": "x",
            "jax_version": "x",
        }
    return frame


@st.composite
def measurement_frames(draw):
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(CELLS) | arch_texts,
                st.floats(allow_nan=True, allow_infinity=True),
            ),
            max_size=6,
        )
    )
    return measurement_frame(rows)


def test_fuzz_measurement_files_resumed(fuzz_env):
    from nasjax.data import measured

    count = {"inputs": 0, "bad": 0}
    listed = fuzz_env / "archs.txt"
    listed.write_text("\n".join(CELLS) + "\n")
    invoke(["measure", "--archs", str(listed), "--out", "warm.parquet", "--json"])

    @settings(max_examples=examples(40), **SETTINGS)
    @given(measurement_frames())
    @example(measurement_frame([(CELLS[0] + " ", 1.0)]))  # not the canonical spelling
    def property_(frame):
        count["inputs"] += 1
        with tempfile.TemporaryDirectory(dir=fuzz_env) as folder:
            out = pathlib.Path(folder) / "latency.parquet"
            measured.write_measurements(out, frame.astype(measured.COLUMNS))
            argv = ["measure", "--archs", str(listed), "--out", str(out)]
            argv += ["--dataset", "ImageNet16-120", "--json"]
            result = invoke(argv)
            check_outcome(result, out)
            kept = measured.read_measurements(out)
            assert kept["latency_ms"].gt(0).all()
            assert set(kept["arch_str"]) <= set(CELLS)
            count["bad"] += len(kept) < len(frame)  # untrustworthy rows dropped

    property_()
    print(f"fuzz inputs: {count}")
    assert count["inputs"] >= examples(40), count


# --------------------------------------------------------- data-folder files
DATA_FILES = (
    "nb201_test_acc_200ep_natstss.parquet",
    "nb201_help_latency.parquet",
    "nb201_valid_acc_200ep_natstss_perseed.parquet",
)


@st.composite
def data_files(draw):
    name = draw(st.sampled_from(DATA_FILES))
    if draw(st.booleans()):
        return name, draw(st.binary(max_size=64))
    columns = draw(
        st.lists(
            st.sampled_from(["cifar10_test", "1080ti_1", "cifar10valid_valid_seed777"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    size = draw(st.sampled_from([15625, 10, 0]))
    fill = draw(st.sampled_from([np.nan, -1.0, 1e9, 0.0, 50.0, np.inf, "text"]))
    frame = pd.DataFrame({"arch_idx": np.arange(size, dtype=np.int64)})
    for column in columns:
        values = np.full(size, 50.0, dtype=object if fill == "text" else np.float64)
        if size:
            values[draw(st.integers(0, size - 1)) :] = fill
        frame[column] = values.astype(str) if fill == "text" else values
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return name, buffer.getvalue()


def test_fuzz_data_folder_files(fuzz_env):
    count = {"inputs": 0, "bad": 0}

    @settings(max_examples=examples(80), **SETTINGS)
    @given(data_files())
    def property_(file):
        name, content = file
        count["inputs"] += 1
        with tempfile.TemporaryDirectory(dir=fuzz_env) as folder:
            (pathlib.Path(folder) / name).write_bytes(content)
            code, printed, err = invoke(["data", "check", "--data", folder, "--json"])
            check_outcome((code, printed, err))
            assert code == 0
            report = json.loads(printed)
            entry = [f for f in report["spaces"]["nb201"]["files"] if f["name"] == name]
            count["bad"] += entry[0]["status"] == "error"
            argv = ["search", "--data", folder, "--out", f"{folder}/out", "--json"]
            check_outcome(invoke(argv), pathlib.Path(folder) / "out")

    property_()
    print(f"fuzz inputs: {count}")
    assert count["inputs"] >= examples(80) and count["bad"] >= examples(40), count
