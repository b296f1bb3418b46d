"""Issue 15, item 4: an empty prompt is a 400 naming the prompt, alone or among others (never a 500, never
text generated from padding), and the server keeps serving."""

from __future__ import annotations

import httpx

from tests.serving.conftest import ServerFactory


def test_an_empty_prompt_is_a_400_alone_or_batched(echo_server: ServerFactory) -> None:
    with echo_server() as server, httpx.Client(base_url=server.root) as http:
        for prompt, where in (("", "`prompt`"), (["a b", ""], "`prompt[1]`")):
            response = http.post("/v1/completions", json={"model": "e", "prompt": prompt})
            assert response.status_code == 400, response.text
            error = response.json()["error"]
            assert error["param"] == "prompt" and error["message"].startswith(f"{where} is an empty string")
        echoed = http.post("/v1/completions", json={"model": "e", "prompt": "", "echo": True, "logprobs": 1})
        assert echoed.status_code == 400
        fine = http.post("/v1/completions", json={"model": "e", "prompt": "a b"})
        assert fine.status_code == 200 and fine.json()["choices"][0]["text"] == "a b"
