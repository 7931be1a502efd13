"""Property tests of the params loader: whatever the input, only the project's own errors escape.

``load_params`` on arbitrary bytes and YAML-ish text, ``build_params`` on arbitrary nested
mappings and ``--set`` overrides: each either returns validated ``Params`` or raises a
``MetapipelineError`` whose message stays short (values are echoed cut to ~80 characters).
"""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_utils.errors import MetapipelineError
from lineage_utils.params import SCHEMA, SPECS, Params, build_params, load_params

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SECTIONS = sorted({key.split(".", 1)[0] for key in SPECS})
NAMES = sorted({key.split(".", 1)[1] for key in SPECS})
MAX_MESSAGE = 400  # characters besides the file's path


def outcome(call, *args, path: str = "") -> Params | None:
    """The call's Params, or None when it raised one of our errors (checked to be short)."""
    try:
        return call(*args)
    except MetapipelineError as exc:
        message = str(exc).replace(path, "") if path else str(exc)
        assert len(message) < MAX_MESSAGE, message[:1000]
        return None


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["", "true", "off", "-5", "0", "1e400", "nan", "2026-01-01", "~/x", "a,b", "[x]", "{a: 1}",
                     "snapshot", "mode_api", "auto", "x" * 200, "\x00", "2026-13-45T99:99"]),
    st.binary(max_size=10),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=3)),
    max_leaves=6,
)
sections = st.dictionaries(
    st.one_of(st.sampled_from(SECTIONS), st.text(max_size=10), st.integers(), st.none()),
    st.one_of(st.dictionaries(st.one_of(st.sampled_from(NAMES), st.text(max_size=10), st.integers()),
                              values, max_size=4),
              values),
    max_size=4,
)
overrides = st.lists(
    st.one_of(
        st.builds(lambda key, raw: f"{key}={raw}", st.sampled_from([spec.key for spec in SCHEMA]),
                  st.one_of(st.text(max_size=20), st.sampled_from(["[a, b]", "{'1': {dialect: x}}", "[", "{",
                                                                    "-1", "true", "0", "&a [*a]"]))),
        st.text(max_size=20),
    ),
    max_size=3,
)
# Text made mostly of YAML's own punctuation and our key names, so the parser's corners get visited.
TOKENS = list("abcdrunstalegi_:-[]{}&*!|>'\"#%@`,?.0123456789 \t\n\r\\") + [
    "\x00", "\x85", "\ufeff", "\u2028", "é", "runs_dir", "staleness", "last_run_days", "bi", "workers",
    "protection", "selectors", "!!binary ", "!!python/object ", "!!set ", "!!float ", "<<: ", "&a ", "*a", "\n  ",
    ": ", "- ", "---\n", "...\n", "%YAML 1.1\n", "? ", ".nan", ".inf"]
yamlish = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)


@SETTINGS
@given(data=sections, sets=overrides)
def test_build_params_and_load_params_on_arbitrary_documents_raise_only_our_errors(tmp_path_factory, data, sets):
    base = tmp_path_factory.getbasetemp()
    params = outcome(build_params, data, base, sets)
    if params is not None:
        assert set(params.values) == set(SPECS)
        for spec in SCHEMA:
            value = params.values[spec.key]
            if spec.kind in ("int", "float"):
                assert math.isfinite(value)
                assert spec.minimum is None or value >= spec.minimum
                assert spec.maximum is None or value <= spec.maximum
    path = base / "props_doc.yaml"
    path.write_text(json.dumps(data, default=repr), encoding="utf-8")  # JSON is YAML (NaN reads as text)
    outcome(load_params, str(path), sets, path=str(path))


@SETTINGS
@given(content=st.binary(max_size=300))
def test_load_params_on_arbitrary_bytes_raises_only_our_errors(tmp_path_factory, content):
    path = tmp_path_factory.getbasetemp() / "props_bytes.yaml"
    path.write_bytes(content)
    outcome(load_params, str(path), path=str(path))


@SETTINGS
@given(text=yamlish, sets=overrides)
def test_load_params_on_yamlish_text_raises_only_our_errors(tmp_path_factory, text, sets):
    path = tmp_path_factory.getbasetemp() / "props_text.yaml"
    path.write_text(text, encoding="utf-8")
    outcome(load_params, str(path), sets, path=str(path))
