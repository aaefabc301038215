"""The `openai` chain writer against a real local HTTP server speaking the chat-completions protocol.

A stdlib `http.server` in a thread, on 127.0.0.1 and an ephemeral port, answers `POST /v1/chat/completions` with canned
rationales, or with 401 / 429 / 500 / a stall longer than the client timeout, as scripted per test. The real `openai`
client talks to it through `base_url`, so retries, error messages, token counting and the cache are tested end to end.
"""
import json, threading, time, warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from baasprompt.core import BaasPromptError, ConfigError
from baasprompt.llm import CacheCorruptionWarning, CacheMissError, LocalWriter, OpenAIWriter, ReplayWriter, make_writer
from baasprompt.chains import parse_answer, split_steps, zero_shot_messages

SECRET = 'sk-DUMMY-SECRET-123'
RATIONALE = "1. Milk spoils when it is warm.\n2. A fridge keeps food cold.\nThe answer is A."
PROMPT_TOKENS, COMPLETION_TOKENS = 42, 17
STALL = 1.5      # seconds the 'timeout' mode waits before answering
TIMEOUT = 0.3    # client timeout used in the tests
ROW = {'id': 'q1', 'context': '', 'question': 'Where do you keep milk cold?', 'choices': ['fridge', 'oven'], 'label': 0}


class Stub(ThreadingHTTPServer):
    "A chat-completions server: pops one scripted mode per request ('ok' once the script is empty); records requests."
    daemon_threads = True
    def __init__(self):
        super().__init__(('127.0.0.1', 0), Handler)
        self.script, self.requests, self.lock = [], [], threading.Lock()
    @property
    def url(self) -> str: return f'http://127.0.0.1:{self.server_address[1]}/v1'
    @property
    def hits(self) -> int: return len(self.requests)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a): pass

    def _send(self, code: int, obj: dict):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json'); self.send_header('Content-Length', str(len(body)))
        self.end_headers(); self.wfile.write(body)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get('Content-Length', 0))) or b'{}')
        srv = self.server
        with srv.lock:
            srv.requests.append({'path': self.path, 'auth': self.headers.get('Authorization'), 'body': body})
            mode = srv.script.pop(0) if srv.script else 'ok'
        if self.path != '/v1/chat/completions': return self._send(404, {'error': {'message': 'not found'}})
        err = lambda code, msg, typ: self._send(code, {'error': {'message': msg, 'type': typ, 'code': typ}})
        if mode == '401': return err(401, 'Incorrect API key provided: sk-DUM***123.', 'invalid_api_key')
        if mode == '429': return err(429, 'Rate limit reached.', 'rate_limit_exceeded')
        if mode == '500': return err(500, 'The server had an error.', 'server_error')
        if mode == 'timeout': time.sleep(STALL)
        try: self._send(200, {
            'id': 'chatcmpl-stub', 'object': 'chat.completion', 'created': 0, 'model': body.get('model'),
            'choices': [{'index': 0, 'message': {'role': 'assistant', 'content': RATIONALE}, 'finish_reason': 'stop'}],
            'usage': {'prompt_tokens': PROMPT_TOKENS, 'completion_tokens': COMPLETION_TOKENS, 'total_tokens': PROMPT_TOKENS + COMPLETION_TOKENS}})
        except (BrokenPipeError, ConnectionResetError): pass  # the client gave up (timeout mode)


@pytest.fixture
def server():
    srv = Stub()
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True); t.start()
    yield srv
    srv.shutdown(); srv.server_close()


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv('OPENAI_API_KEY', SECRET)
    monkeypatch.delenv('OPENAI_BASE_URL', raising=False)


def writer(server, folder, **kw) -> OpenAIWriter:
    return OpenAIWriter('stub-gpt', base_url=server.url, folder=folder, timeout=TIMEOUT,
                        **{'max_retries': 2, 'backoff': 0.01, 'max_backoff': 0.05, **kw})


def cache_files(folder) -> list[Path]: return sorted(Path(folder).rglob('*.json'))


def test_success_counts_tokens_and_caches(server, key, tmp_path):
    w = writer(server, tmp_path)
    out = w.complete(zero_shot_messages(ROW), max_tokens=64)
    assert out == RATIONALE
    assert parse_answer(out, ROW['choices']) == ('1. Milk spoils when it is warm.\n2. A fridge keeps food cold.', 'A')
    assert split_steps(parse_answer(out)[0]) == ['Milk spoils when it is warm.', 'A fridge keeps food cold.']
    assert w.stats == {'calls': 1, 'cache_hits': 0, 'prompt_tokens': PROMPT_TOKENS, 'completion_tokens': COMPLETION_TOKENS}
    req = server.requests[0]
    assert req['auth'] == f'Bearer {SECRET}'  # the key came from the environment
    assert (req['body']['model'], req['body']['max_tokens'], req['body']['temperature']) == ('stub-gpt', 64, 0.0)
    assert req['body']['messages'] == zero_shot_messages(ROW)
    # a second writer over the same folder: free and identical
    w2 = writer(server, tmp_path)
    assert w2.complete(zero_shot_messages(ROW), max_tokens=64) == out
    assert server.hits == 1 and w2.stats == {'calls': 0, 'cache_hits': 1, 'prompt_tokens': 0, 'completion_tokens': 0}
    # replay-only writer: hit without any request; a miss is a clear error
    r = make_writer('cache', replay='openai', model='stub-gpt', folder=tmp_path, verbose=False)
    assert isinstance(r, ReplayWriter) and r.complete(zero_shot_messages(ROW), max_tokens=64) == out
    with pytest.raises(CacheMissError, match='cache miss'): r.complete('something else')
    assert server.hits == 1 and r.stats['calls'] == 0
    (entry,) = cache_files(tmp_path)
    e = json.loads(entry.read_text())
    assert e['key'] == entry.stem == w.key(zero_shot_messages(ROW), max_tokens=64) and 'checksum' in e


def test_401_stops_at_once(server, key, tmp_path):
    server.script = ['401']
    w = writer(server, tmp_path, max_retries=5)
    t0 = time.time()
    with pytest.raises(BaasPromptError, match=r'HTTP 401.*OPENAI_API_KEY.*not retrying') as e:
        w.complete('hello')
    assert server.hits == 1 and time.time() - t0 < 1
    assert SECRET not in str(e.value) and 'sk-DUM' not in str(e.value)
    assert e.value.__cause__ is None and e.value.__suppress_context__  # no client traceback carrying the server's text
    assert cache_files(tmp_path) == [] and w.stats['calls'] == 0


@pytest.mark.parametrize('mode', ['429', '500', 'timeout'])
def test_transient_errors_are_retried(server, key, tmp_path, mode):
    server.script = [mode]
    w = writer(server, tmp_path)
    assert w.complete('hello') == RATIONALE
    assert server.hits == 2 and w.stats['calls'] == 1
    assert len(cache_files(tmp_path)) == 1


def test_backoff_is_exponential_and_capped(server, key, tmp_path, monkeypatch):
    slept = []
    monkeypatch.setattr('baasprompt.llm.time.sleep', slept.append)
    server.script = ['429', '500', '429', '500']
    w = writer(server, tmp_path, max_retries=4, backoff=0.01, max_backoff=0.03)
    assert w.complete('hello') == RATIONALE
    assert slept == [0.01, 0.02, 0.03, 0.03] and server.hits == 5


def test_persistent_500_fails_after_bounded_tries_and_is_not_cached(server, key, tmp_path):
    server.script = ['500'] * 10
    w = writer(server, tmp_path, max_retries=2)
    with pytest.raises(BaasPromptError, match=r'failed after 3 attempts \(last: HTTP 500\)'):
        w.complete('hello')
    assert server.hits == 3 and cache_files(tmp_path) == [] and w.stats['calls'] == 0
    server.script = []  # the server recovers: the failure was not cached, so the request is made again
    assert w.complete('hello') == RATIONALE and server.hits == 4


def test_persistent_timeout(server, key, tmp_path):
    server.script = ['timeout'] * 3
    w = writer(server, tmp_path, max_retries=1)
    with pytest.raises(BaasPromptError, match=r'failed after 2 attempts \(last: timeout\)'):
        w.complete('hello')
    assert server.hits == 2 and cache_files(tmp_path) == []


@pytest.mark.parametrize('damage', ['truncate', 'edit'])
def test_corrupt_cache_entry_is_detected_and_rebuilt(server, key, tmp_path, damage):
    w = writer(server, tmp_path)
    w.complete('hello')
    (path,) = cache_files(tmp_path)
    good = path.read_text()
    if damage == 'truncate': path.write_text(good[:len(good) // 2])
    else: path.write_text(good.replace('Milk spoils', 'Milk improves'))  # valid JSON, wrong checksum
    w2 = writer(server, tmp_path)
    with pytest.warns(CacheCorruptionWarning, match=str(path.name)):
        assert w2.complete('hello') == RATIONALE
    assert server.hits == 2 and w2.stats['calls'] == 1
    assert json.loads(path.read_text())['text'] == RATIONALE  # rebuilt
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert writer(server, tmp_path).complete('hello') == RATIONALE  # and now clean
    assert server.hits == 2


def test_key_never_reaches_disk_or_repr(server, key, tmp_path):
    w = writer(server, tmp_path)
    w.complete('hello'); w.complete('hello', max_tokens=8)
    server.script = ['401']
    with pytest.raises(BaasPromptError): w.complete('bad key')
    assert SECRET not in repr(w) and SECRET not in str(vars(w).get('params')) and 'api_key' not in repr(w)
    files = [p for p in Path(tmp_path).rglob('*') if p.is_file()]
    assert len(files) >= 2
    for p in files: assert SECRET.encode() not in p.read_bytes(), p


def test_missing_key(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv('OPENAI_API_KEY', raising=False)
    with pytest.raises(BaasPromptError, match='OPENAI_API_KEY'): OpenAIWriter(folder=tmp_path)
    with pytest.raises(BaasPromptError, match='OPENAI_API_KEY'): make_writer('openai', folder=tmp_path)
    w = make_writer('auto', folder=tmp_path)  # falls back to the local model, and says so (the model is loaded lazily)
    assert isinstance(w, LocalWriter)
    assert 'chain writer: local' in capsys.readouterr().err   # a message about what it does: stderr, never stdout (00_core.note)


def test_auto_picks_openai_with_key(server, key, tmp_path, capsys):
    w = make_writer('auto', folder=tmp_path, base_url=server.url)
    assert isinstance(w, OpenAIWriter) and w.model == 'gpt-4o'
    said = capsys.readouterr()
    assert 'chain writer: openai' in said.err and SECRET not in said.err + said.out and said.out == ''
    with pytest.raises(ConfigError, match='valid chain writer backends'): make_writer('anthropic')
