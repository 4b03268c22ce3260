#!/usr/bin/env python3
"""Drives a running gateway with the official `openai` and `anthropic` Python SDKs.

Usage: clients.py <gateway base URL> <gateway token>

Prints one JSON object on standard output: what each call returned (or raised), so the Swift test
can check it. Every call is wrapped: a failure of one does not hide the others.
"""
import json
import sys
import traceback


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    summary: dict = {}

    try:
        import openai
        import anthropic
    except Exception as error:  # the SDKs are missing: say so, the test reports it
        print(json.dumps({"import_error": repr(error)}))
        return 0
    summary["versions"] = {"openai": openai.__version__, "anthropic": anthropic.__version__}

    def record(name, function):
        try:
            summary[name] = function()
        except Exception as error:
            summary[name] = {
                "exception": type(error).__name__,
                "status": getattr(error, "status_code", None),
                "message": str(error)[:500],
                "trace": traceback.format_exc()[-1500:],
            }

    oa = openai.OpenAI(base_url=base + "/v1", api_key=token, max_retries=0, timeout=20)
    messages = [{"role": "user", "content": "Say hello."}]

    def openai_plain():
        raw = oa.chat.completions.with_raw_response.create(model="openai/gpt-4o", messages=messages)
        completion = raw.parse()
        return {
            "content": completion.choices[0].message.content,
            "model": completion.model,
            "finish_reason": completion.choices[0].finish_reason,
            "profile": raw.headers.get("x-gatehouse-profile"),
        }

    def openai_stream():
        pieces, chunks, finish = [], 0, None
        stream = oa.chat.completions.create(
            model="openai/gpt-4o-mini", messages=messages, stream=True, stream_options={"include_usage": True}
        )
        usage = None
        for chunk in stream:
            chunks += 1
            if chunk.usage is not None:
                usage = chunk.usage.total_tokens
            for choice in chunk.choices:
                if choice.delta.content:
                    pieces.append(choice.delta.content)
                if choice.finish_reason:
                    finish = choice.finish_reason
        return {"content": "".join(pieces), "chunks": chunks, "finish_reason": finish, "usage_total": usage}

    def openai_unknown_model():
        try:
            oa.chat.completions.create(model="openai/no-such-model", messages=messages)
        except openai.NotFoundError as error:
            return {"raised": "NotFoundError", "status": error.status_code, "message": str(error)[:500]}
        except openai.APIStatusError as error:
            return {"raised": type(error).__name__, "status": error.status_code, "message": str(error)[:500]}
        return {"raised": None}

    record("openai_plain", openai_plain)
    record("openai_stream", openai_stream)
    record("openai_unknown_model", openai_unknown_model)

    an = anthropic.Anthropic(base_url=base, api_key=token, max_retries=0, timeout=20)

    def anthropic_plain():
        raw = an.messages.with_raw_response.create(
            model="anthropic/claude-sonnet-4-5", max_tokens=64, messages=messages
        )
        message = raw.parse()
        return {
            "content": "".join(block.text for block in message.content if block.type == "text"),
            "model": message.model,
            "stop_reason": message.stop_reason,
            "profile": raw.headers.get("x-gatehouse-profile"),
        }

    def anthropic_stream():
        types, pieces = [], []
        with an.messages.stream(model="anthropic/claude-sonnet-4-5", max_tokens=64, messages=messages) as stream:
            for event in stream:
                types.append(event.type)
                if event.type == "content_block_delta" and getattr(event.delta, "type", "") == "text_delta":
                    pieces.append(event.delta.text)
            final = stream.get_final_message()
        return {
            "content": "".join(pieces),
            "events": types,
            "final_text": "".join(block.text for block in final.content if block.type == "text"),
            "stop_reason": final.stop_reason,
        }

    def anthropic_unknown_model():
        try:
            an.messages.create(model="anthropic/no-such-model", max_tokens=16, messages=messages)
        except anthropic.NotFoundError as error:
            return {"raised": "NotFoundError", "status": error.status_code, "message": str(error)[:500]}
        except anthropic.APIStatusError as error:
            return {"raised": type(error).__name__, "status": error.status_code, "message": str(error)[:500]}
        return {"raised": None}

    record("anthropic_plain", anthropic_plain)
    record("anthropic_stream", anthropic_stream)
    record("anthropic_unknown_model", anthropic_unknown_model)

    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
