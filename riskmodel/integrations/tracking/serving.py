"""The REST app ``riskmodel serve`` runs: MLflow's scoring server, with CSV requests read as text and no stack traces.

MLflow's scoring server (``mlflow models serve``) reads a ``text/csv`` body
with the pandas types of the model's input signature. The risk model's
signature declares its columns with MLflow's ``any`` type (so that one bad
value flags its row instead of failing the request, see
:func:`riskmodel.integrations.tracking.risk._signature`), which has no pandas
type: MLflow then refused every CSV request with a 400 carrying its own stack
trace. This app wraps MLflow's (same routes, same JSON answers) and changes these
things only:

- a ``text/csv`` request to ``/invocations``, for a model whose signature has
  no pandas types, is read with every cell as text (identifiers keep their
  leading zeros; an empty cell is missing) and handed to MLflow as the
  equivalent ``dataframe_split`` JSON request, so ``score()`` judges each value
  and flags exactly the bad rows, as it does for JSON. ``params`` come from the
  query string (``/invocations?purpose=desk+check&reasons=1``), since a CSV body
  has no place for them, each read as the type the model's signature declares
  (``reasons`` a whole number, ``purpose`` text, even ``?purpose=20240117``). A
  body that is not CSV gets a one-line 400 answer.
- a param the model's signature does not declare (``"Purpose"``, ``"reason"``), in
  the query string of a CSV request or the ``params`` of a JSON one, gets a
  one-line 400 naming it and the param meant: MLflow would drop it and answer
  with the defaults (3 reasons, the audit log's purpose "mlflow pyfunc").
- a request without the risk model's id column ``stay_id`` but with a column spelt like it (``StayID``) gets a
  one-line 400 naming it: MLflow would drop it, and the answers would carry row numbers as ``stay_id``.
- an empty batch for the risk model (``{"dataframe_records": []}``, a CSV header alone) is answered with no
  prediction, as ``score([])`` answers it: MLflow makes it a table of no column, which the risk pyfunc refuses.
- an error answer (status 400 and above) from ``/invocations`` loses MLflow's
  ``stack_trace`` field and the request data MLflow quotes before the model's
  error, after a JSON error, or with the input schema when its schema enforcement
  fails (a column named twice; identifiers included), and its message is put on
  one line. Those quotes are cut by MLflow's own wording, which a release may change: an error answer for the
  risk model that still holds an identifier-like value of the request is withheld whole (:data:`WITHHELD`).

- uvicorn's access log keeps each request's method, path and status, not its query string (a ``?purpose=``
  is the caller's text: :class:`WithoutQuery`).
- served by an alias (``riskmodel serve --model models:/overstay-risk@champion``), the
  alias is looked up again on a request once its last look-up is 10 s old
  (:class:`Following`), as :func:`riskmodel.load` does: a promotion is served
  from then on, a ``champion`` no gate put there or a deleted alias gets a
  one-line 503 naming it. MLflow's own server reads an alias once, at start.

The model is the local folder named by :data:`MODEL_ENV` (the verified copy
``riskmodel serve`` made); uvicorn builds the app with :func:`create_app`
(``--factory``).
"""

from __future__ import annotations

import asyncio
import atexit
import difflib
import io
import json
import logging
import os
import re
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Mapping

__all__ = ["MODEL_ENV", "ALIAS_ENV", "VERSION_ENV", "APP", "Following", "create_app", "csv_request", "one_line_error", "check_params",
           "declared_params"]

#: environment variable naming the local model folder the app serves
MODEL_ENV = "RISKMODEL_SERVE_MODEL"
#: the app factory, as uvicorn takes it
APP = "riskmodel.integrations.tracking.serving:create_app"
#: longest message an error answer keeps
MAX_MESSAGE = 1000
#: how MLflow's server starts an error message of the model: the request's data, quoted, then the error
_ECHO, _ECHO_END = "Failed to predict data '", "'. \nError: "
#: how MLflow's server ends its answer to a body that is not JSON: the whole body, quoted after the error
_BODY_ECHO = "\nInput: \n"
#: how MLflow's schema enforcement starts its error (a column named twice, a required one missing): the request's data,
#: quoted, then the model's whole input schema, then the reason after the end mark
_SCHEMA_ECHO, _SCHEMA_ECHO_END = "Failed to enforce schema of data '", "'. Error: "


class BadRequest(ValueError):
    """A request body that cannot be read: answered with a one-line 400."""


#: MLflow param types a query string's whole numbers are read as
_WHOLE_NUMBER_TYPES = ("long", "integer")


def declared_params(model) -> dict[str, str]:
    """The params the model's signature declares, name -> MLflow type name (``reasons`` -> ``long``); {} for none."""
    schema = model.metadata.get_params_schema()
    return {} if schema is None else {spec.name: getattr(spec.dtype, "name", str(spec.dtype)) for spec in schema.params}


def check_params(names, declared: Mapping[str, str]) -> None:
    """Raise :class:`BadRequest` naming every param in ``names`` that ``declared`` lacks, with the one meant."""
    unknown = [str(n) for n in names if n not in declared]
    if not unknown:
        return
    folded = {d.casefold(): d for d in declared}
    named = []
    for name in unknown:
        close = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=0.75)
        named.append(f"`{name}`" + (f" (did you mean `{folded[close[0]]}`?)" if close else ""))
    takes = ", ".join(f"`{d}`" for d in declared) or "none"
    raise BadRequest(f"params {', '.join(named)}: not a param of this model, which takes {takes}; the server would drop it "
                     "and answer with the defaults. Fix: name each param as the model does.")


def _params(query: bytes, declared: Mapping[str, str] | None = None) -> dict:
    """The query string as scoring params, each as the type ``declared`` gives it (whole numbers for ``long``, text
    for the rest; every whole number without ``declared``); a param ``declared`` lacks is a :class:`BadRequest`."""
    params = {}
    for key, value in urllib.parse.parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        whole = declared is None or declared.get(key) in _WHOLE_NUMBER_TYPES
        params[key] = int(value) if whole and value.lstrip("-").isdigit() else value
    if declared is not None:
        check_params(params, declared)
    return params


def csv_request(body: bytes, query: bytes = b"", declared: Mapping[str, str] | None = None) -> bytes:
    """A CSV body (header row, then one row per stay) as MLflow's ``dataframe_split`` JSON request, every cell text.

    ``declared``: the params the model declares (:func:`declared_params`), to read the query string's params as
    their types and refuse others; None reads every whole number as one.

    Raises :class:`BadRequest` with a one-line message when the body is not
    UTF-8, is empty, names a column twice or leaves a column name blank, is one column
    holding ';' or tabs (fields not separated by commas), when a row has more fields than
    the header, or a param is not one ``declared`` holds.
    """
    import pandas as pd

    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the CSV body is not UTF-8 text ({exc.reason} at byte {exc.start}): send it encoded as UTF-8.") from None
    if not text.strip():
        raise BadRequest("the CSV body is empty: send a header row naming the model's feature columns, then one row per stay.")
    try:
        # header=None: the header is read as a row, so a name given twice stays visible (pandas renames it otherwise)
        raw = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, ValueError, UnicodeError) as exc:
        raise BadRequest(f"the body is not valid CSV: {' '.join(str(exc).split())}. Fix: one header row, then rows "
                         "with as many comma-separated fields.") from None
    header = raw.iloc[0].tolist()
    for sep, name in ((";", "';'"), ("\t", "tabs")):
        if len(header) == 1 and sep in str(header[0]):  # Excel where decimals take a comma separates fields so
            raise BadRequest(f"the header is one column, {str(header[0]).strip()!r}: the fields are separated by {name}, not by "
                             "commas. Fix: send comma-separated fields, and numbers without thousands separators.")
    if any(pd.isna(h) or not str(h).strip() for h in header):
        raise BadRequest("a column of the CSV header has no name: name every column (the model's feature names).")
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise BadRequest(f"the CSV header names {twice} more than once: give each column once.")
    rows = raw.iloc[1:].astype(object)
    data = rows.where(rows.notna(), None).values.tolist()
    payload: dict = {"dataframe_split": {"columns": header, "data": data}}
    params = _params(query, declared)
    if params:
        payload["params"] = params
    return json.dumps(payload).encode()


#: the message of an error answer that still quoted the request after the known templates were cut out
WITHHELD = ("the model server's error message quoted the request (identifiers included) in a form riskmodel does not know, "
            "so it was withheld. Fix: send records with the model's feature columns, each once, as riskmodel.score takes them "
            "(dataframe_records or dataframe_split); run the rows through riskmodel.score locally to see the reason.")


def _identifiers(request: bytes) -> set[str]:
    """The identifier-like values of a JSON request (text of 5 or more characters holding a digit, whole numbers of 5 or
    more digits): what an error answer must not quote back, whatever MLflow's wording."""
    try:
        stack = [json.loads(request)]
    except (ValueError, UnicodeDecodeError):
        return set()
    found = set()
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and len(item.strip()) >= 5 and any(ch.isdigit() for ch in item):
            found.add(item.strip())
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) >= 10_000:
            found.add(str(item))
    return found


def one_line_error(body: bytes, quoted: set[str] | frozenset[str] = frozenset()) -> bytes | None:
    """An error answer without ``stack_trace`` and with its message on one line; None to leave it as it is.

    ``quoted``: values of the request (:func:`_identifiers`) the answer must not hold: MLflow's quotes of the request are
    cut by its templates below, and a message still holding one of them (MLflow worded it otherwise) is :data:`WITHHELD`.
    """
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(answer, dict):
        return None
    changed = answer.pop("stack_trace", None) is not None
    message = answer.get("message")
    if isinstance(message, str):
        if message.startswith(_ECHO) and _ECHO_END in message:  # MLflow quotes the whole request first: drop it
            message, changed = message.rsplit(_ECHO_END, 1)[1], True
        if _BODY_ECHO in message:  # a body that is not JSON is quoted last: drop it
            message, changed = message.split(_BODY_ECHO, 1)[0], True
        if message.startswith(_SCHEMA_ECHO) and _SCHEMA_ECHO_END in message:  # the request and the schema, then the reason
            reason = message.rsplit(_SCHEMA_ECHO_END, 1)[1].rstrip().rstrip(".")
            message, changed = (f"the request does not fit the model's input signature: {reason}. Fix: give each column "
                                "once, named as the model's signature names them, with every column it requires."), True
        flat = " ".join(message.split())
        flat = flat if len(flat) <= MAX_MESSAGE else flat[: MAX_MESSAGE - 3] + "..."
        changed = changed or flat != message
        answer["message"] = flat
    if quoted and any(v in json.dumps(answer, ensure_ascii=False) or v in json.dumps(answer) for v in quoted):
        answer, changed = {"error_code": answer.get("error_code", "BAD_REQUEST"), "message": WITHHELD}, True
    return json.dumps(answer).encode() if changed else None


def _header(scope: dict, name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == name), "")


async def _read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send_json(send, status: int, payload: dict) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _without_traces(send, request: dict | None = None):
    """``send`` that rewrites error answers with :func:`one_line_error` (the whole body is held until its end), withholding
    one that quotes an identifier of ``request["body"]`` (set by the app once it has read a risk model's request; read
    only for an error answer, so a sound request pays nothing)."""
    state: dict = {}

    async def wrapped(message):
        if message["type"] == "http.response.start" and message["status"] >= 400:
            state["start"], state["body"] = message, []
            return
        if "start" not in state or message["type"] != "http.response.body":
            await send(message)
            return
        state["body"].append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(state["body"])
        quoted = _identifiers(request["body"]) if request and "body" in request else frozenset()
        body = one_line_error(body, quoted) or body
        start = dict(state.pop("start"))
        start["headers"] = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        start["headers"].append((b"content-length", str(len(body)).encode()))
        await send(start)
        await send({"type": "http.response.body", "body": body})

    return wrapped


def _csv_untyped(model) -> bool:
    """True when MLflow cannot read CSV for this model: its input signature has columns without a pandas type."""
    schema = model.metadata.get_input_schema()
    if schema is None or schema.is_tensor_spec():
        return False
    try:
        schema.pandas_types()
    except Exception:  # MlflowException: some column has no pandas type (``any``)
        return True
    return False


def _replayed(body: bytes, receive):
    """``receive`` that gives ``body`` first, then what the client sends (a disconnect)."""
    sent = False

    async def replay():
        nonlocal sent
        if sent:  # the body was given: what follows is the client's (a disconnect)
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _json_params_problem(body: bytes, declared: Mapping[str, str]) -> str | None:
    """The one-line refusal of JSON ``params`` the model does not declare; None when there are none, or when the body
    is not a JSON object (MLflow answers that itself)."""
    if b'"params"' not in body:
        return None
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    params = request.get("params") if isinstance(request, dict) else None
    if not isinstance(params, dict):
        return None
    try:
        check_params(params, declared)
    except BadRequest as exc:
        return str(exc)
    return None


#: the record id column the risk model's answers echo (``score()``'s ``id_column``)
ID_COLUMN = "stay_id"


def _request_columns(request) -> list[str]:
    """The column names a JSON scoring request gives, in any form MLflow reads ([] for a tensor or another form)."""
    if not isinstance(request, dict):
        return []
    if isinstance(request.get("dataframe_split"), dict):
        columns = request["dataframe_split"].get("columns")
        return [str(c) for c in columns] if isinstance(columns, list) else []
    data = next((request[k] for k in ("dataframe_records", "inputs", "instances") if k in request), None)
    if isinstance(data, dict):
        return [str(c) for c in data]
    if isinstance(data, list):
        return [str(c) for c in dict.fromkeys(k for r in data if isinstance(r, dict) for k in r)]
    return []


def id_problem(body: bytes, id_column: str | None) -> str | None:
    """The one-line refusal of a JSON request without ``id_column`` but with a column spelt like it (``StayID``);
    None otherwise. MLflow drops a column its signature does not name, and ``score()`` then numbers the rows 0, 1, ...
    under ``id_column``: a caller whose ids are numbers would join each score to the wrong stay."""
    if id_column is None or f'"{id_column}"'.encode() in body:  # the id column is there (the usual request): no parse
        return None
    try:
        columns = _request_columns(json.loads(body))
    except (ValueError, UnicodeDecodeError):
        return None  # MLflow answers a body that is not JSON itself
    key = re.sub(r"[^0-9a-z]", "", id_column.lower())
    near = next((c for c in columns if c != id_column and re.sub(r"[^0-9a-z]", "", c.lower()) == key), None)
    if near is None:
        return None
    return (f"the request has no `{id_column}` column but has `{near}`: the server would drop `{near}` and answer with "
            f"row numbers 0, 1, ... as `{id_column}`, which numeric ids would join to the wrong stays. Fix: rename it to "
            f"`{id_column}`.")


def _empty_batch(body: bytes) -> bool:
    """Whether a JSON scoring request holds no record: an empty list of records, rows, inputs or instances."""
    if len(body) > 4096:  # an empty batch is a short body: a long one is not parsed twice
        return False
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    if not isinstance(request, dict):
        return False
    if isinstance(request.get("dataframe_split"), dict):
        return request["dataframe_split"].get("data") == []
    return next((request[k] for k in ("dataframe_records", "inputs", "instances") if k in request), None) == []


def _id_column(model) -> str | None:
    """:data:`ID_COLUMN` when the model's input signature names it (the risk model), else None (a forecaster)."""
    schema = model.metadata.get_input_schema()
    if schema is None or schema.is_tensor_spec():
        return None
    return ID_COLUMN if ID_COLUMN in schema.input_names() else None


def wrap(inner, read_csv: bool, declared: Mapping[str, str] | None = None, id_column: str | None = None):
    """The ASGI app: ``inner`` (MLflow's) behind the CSV reading, the params check against ``declared`` (the
    model's params, :func:`declared_params`; None: no check), the check of ``id_column``'s spelling
    (:func:`id_problem`; None: none) and the error rewriting."""

    async def app(scope, receive, send):
        if scope["type"] != "http" or scope.get("path") != "/invocations":
            await inner(scope, receive, send)
            return
        request: dict = {}
        send = _without_traces(send, request)
        ctype = _header(scope, b"content-type").split(";")[0].strip().lower()
        post = scope.get("method") == "POST"
        if post and (declared is not None or id_column is not None) and ctype == "application/json":
            body = await _read_body(receive)
            if id_column is not None:  # the risk model: its requests hold people's identifiers
                request["body"] = body
            problem = (_json_params_problem(body, declared) if declared is not None else None) or id_problem(body, id_column)
            if problem is not None:
                await _send_json(send, 400, {"error_code": "BAD_REQUEST", "message": problem})
                return
            if id_column is not None and _empty_batch(body):  # score([]) is an empty answer; MLflow would make it a 400
                await _send_json(send, 200, {"predictions": []})
                return
            await inner(scope, _replayed(body, receive), send)
            return
        if not (read_csv and post and ctype == "text/csv"):
            await inner(scope, receive, send)
            return
        try:
            body = csv_request(await _read_body(receive), scope.get("query_string", b""), declared)
            problem = id_problem(body, id_column)
            if problem is not None:
                raise BadRequest(problem)
        except BadRequest as exc:
            await _send_json(send, 400, {"error_code": "BAD_REQUEST", "message": str(exc)})
            return
        if id_column is not None and _empty_batch(body):
            await _send_json(send, 200, {"predictions": []})
            return
        if id_column is not None:
            request["body"] = body
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() not in (b"content-type", b"content-length")]
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await inner({**scope, "headers": headers}, _replayed(body, receive), send)

    return app


#: environment variable naming the alias URI ``riskmodel serve`` was given (``models:/name@champion``): the app follows it
ALIAS_ENV = "RISKMODEL_SERVE_ALIAS"
#: environment variable naming the registered version the served copy is (the alias's version at start)
VERSION_ENV = "RISKMODEL_SERVE_VERSION"
#: seconds a served alias is trusted before it is looked up again (``riskmodel.api.ALIAS_RECHECK_SECONDS``)
ALIAS_RECHECK_SECONDS = 10.0


#: MLflow's health-check routes: they answer 503 while the alias is refused
_HEALTH = ("/ping", "/health")


class Following:
    """The app of the version an alias names, looked up again on a request once the last look-up is
    :data:`ALIAS_RECHECK_SECONDS` old, as :func:`riskmodel.load` does for a long-lived library caller.

    Moved by a promotion: the new version is pinned, copied, verified, loaded and served from then on (requests in
    flight finish on the old one). Gone, or a ``champion`` no gate put there (moved by hand, also back to this
    version): ``/invocations`` and the health checks (``/ping``, ``/health``) answer 503 naming the alias and the fix,
    until a look-up (on either) finds a version that may serve. A store out of reach: the version last seen serves on,
    with a logged warning.
    """

    def __init__(self, uri: str, version: str, app, build):
        self.uri, self.version, self.app, self.build = uri, str(version), app, build
        self.checked = time.monotonic()
        self.refused: str | None = None
        self._busy = False
        self._copies: list[str] = []

    async def __call__(self, scope, receive, send):
        path = scope.get("path") if scope["type"] == "http" else None
        # a health check looks the alias up too: a balancer that stopped sending requests would keep it refused
        watched = path == "/invocations" or path in _HEALTH
        if watched and not self._busy and time.monotonic() - self.checked >= ALIAS_RECHECK_SECONDS:
            self._busy = True
            try:
                await asyncio.to_thread(self.recheck)
            finally:
                self._busy = False
        if watched and self.refused is not None:
            await _send_json(send, 503, {"error_code": "SERVICE_UNAVAILABLE", "message": self.refused})
            return
        await self.app(scope, receive, send)

    def recheck(self) -> None:
        """Look the alias up; serve on, load the version it names now, or refuse (see the class)."""
        from riskmodel.core.exceptions import ModelLoadError, ModelNotFoundError
        from riskmodel.integrations.tracking.loading import alias_still_serves

        log = logging.getLogger(__name__)
        try:
            same = alias_still_serves(self.uri, self.version)
        except ModelNotFoundError as exc:
            self._refuse(f"{exc}")
            return
        except ModelLoadError as exc:  # the store gives no answer: the version last seen serves on
            log.warning("could not look up %s (%s): serving version %s; trying again in %.0f s", self.uri, exc, self.version,
                        ALIAS_RECHECK_SECONDS)
            self.checked = time.monotonic()
            return
        if same:
            self.refused, self.checked = None, time.monotonic()
            return
        try:
            version, app = self._load_current()
        except ModelLoadError as exc:  # gone meanwhile, a champion no gate put there, a copy failing its manifest
            self._refuse(f"{exc}")
            return
        except Exception as exc:  # noqa: BLE001 - MLflow's own errors, a full disk: refused, not a 500 and a reload per request
            self._refuse(f"loading it failed: {type(exc).__name__}: {exc}")
            return
        log.warning("%s moved from version %s to version %s: serving version %s", self.uri, self.version, version, version)
        self.app, self.version, self.refused, self.checked = app, version, None, time.monotonic()

    def _load_current(self):
        import mlflow.pyfunc

        from riskmodel.integrations.tracking.loading import pin
        from riskmodel.integrations.tracking.registry import verified_copy

        pinned = pin(self.uri)  # @champion refused without its signed gate decision
        folder = tempfile.mkdtemp(prefix="riskmodel-serve-")
        self._copies.append(folder)
        atexit.register(shutil.rmtree, folder, True)
        return pinned.rsplit("/", 1)[1], self.build(mlflow.pyfunc.load_model(str(verified_copy(pinned, folder))))

    def _refuse(self, reason: str) -> None:
        self.refused = " ".join(
            f"{self.uri} no longer names a version this server may serve (it served version {self.version}): {reason} "
            "Fix: promote a version through the gate (riskmodel promote); the server serves it within "
            f"{ALIAS_RECHECK_SECONDS:.0f} s.".split())
        self.checked = time.monotonic()
        logging.getLogger(__name__).error("%s", self.refused)


def _build(model):
    """The wrapped scoring app of one loaded pyfunc ``model``."""
    from mlflow.pyfunc import scoring_server

    return wrap(scoring_server.init(model), _csv_untyped(model), declared_params(model), _id_column(model))


class WithoutQuery(logging.Filter):
    """Drops the query string from uvicorn's access-log lines: ``?purpose=...`` is the caller's text, and one
    refused for naming a traveller's number would be kept in the server's log though the audit log never holds it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])  # (client, method, path, ...)
        return True


def create_app():
    """uvicorn's factory: MLflow's scoring app for the model in :data:`MODEL_ENV`, wrapped; following the alias in
    :data:`ALIAS_ENV` (its version at start in :data:`VERSION_ENV`) when ``riskmodel serve`` was given one.
    The access log keeps each request's method, path and status, not its query string (:class:`WithoutQuery`)."""
    import mlflow.pyfunc

    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, WithoutQuery) for f in access.filters):
        access.addFilter(WithoutQuery())

    app = _build(mlflow.pyfunc.load_model(os.environ[MODEL_ENV]))
    alias, version = os.environ.get(ALIAS_ENV), os.environ.get(VERSION_ENV)
    return Following(alias, version, app, _build) if alias and version else app
