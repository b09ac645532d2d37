#!/usr/bin/env python3
"""Renders the chat template conformance suite's expected outputs with Python Jinja2.

The worker executes chat templates with Jinjava (ChatTemplate); vLLM's server executes them with
Jinja2 through transformers' apply_chat_template. This script is the reference: it renders every
template in worker/src/test/resources/chat-templates/*.json with every conversation in
conversations.json, under transformers' exact settings, and writes expected.json beside them.
ChatTemplateConformanceTest compares ChatTemplate's output with it byte for byte.

Rerun it (Jinja2 3.1.6, nothing else needed) after adding a template or a conversation:

    python3 testkit/tools/render_chat_templates.py

The settings mirror transformers' _compile_jinja_template and apply_chat_template
(src/transformers/utils/chat_template_utils.py):
  * ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loopcontrols
    extension and the {% generation %} tag (rendered as its body),
  * tojson = json.dumps(x, ensure_ascii=False, indent=..., separators=..., sort_keys=...),
  * raise_exception(msg) raises a TemplateError carrying msg,
  * strftime_now(fmt) formats a fixed instant (FIXED_NOW) so the output is deterministic,
  * variables: messages, tools and documents (None when absent), add_generation_prompt=True, the
    tokenizer's special tokens that are set (bos_token, eos_token, unk_token, pad_token), and the
    conversation's chat_template_kwargs.

A conversation a template refuses is recorded as {"error": message, "raised": true} when the
template called raise_exception, or {"error": "<Python exception type>: message", "raised": false}
when Jinja2 itself failed (the Java side then only has to fail too).
"""

import datetime
import json
import pathlib
import sys

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = pathlib.Path(__file__).resolve().parents[2]
FOLDER = ROOT / "worker" / "src" / "test" / "resources" / "chat-templates"
FIXED_NOW = datetime.datetime(2026, 3, 7, 14, 5, 9)
SPECIAL_TOKENS = ("bos_token", "eos_token", "unk_token", "pad_token")


class TemplateRaised(Exception):
    """raise_exception's error: a jinja2 TemplateError in transformers."""


class GenerationTag(Extension):
    """transformers' AssistantTracker without the tracking: {% generation %} renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def raise_exception(message):
    raise TemplateRaised(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def strftime_now(fmt):
    return FIXED_NOW.strftime(fmt)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def _is_var_access(node, varname):
    return isinstance(node, nodes.Name) and node.ctx == "load" and node.name == varname


def _is_attr_access(node, varname, key):
    if isinstance(node, nodes.Getitem):
        return (_is_var_access(node.node, varname) and isinstance(node.arg, nodes.Const)
                and node.arg.value == key)
    if isinstance(node, nodes.Getattr):
        return _is_var_access(node.node, varname) and node.attr == key
    return False


def _is_var_or_elems_access(node, varname, key=None):
    """varname (or varname[key]), possibly filtered, tested or sliced."""
    if isinstance(node, nodes.Filter):
        return node.node is not None and _is_var_or_elems_access(node.node, varname, key)
    if isinstance(node, nodes.Test):
        return _is_var_or_elems_access(node.node, varname, key)
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Slice):
        return _is_var_or_elems_access(node.node, varname, key)
    return _is_attr_access(node, varname, key) if key else _is_var_access(node, varname)


def _names_bound_to(root, varname):
    """varname and every {% set x = ... %} that copies it (or a filtered/sliced view of it)."""
    names = [varname]
    pending = [varname]
    while pending:
        current = pending.pop(0)
        for assign in root.find_all(nodes.Assign):
            if _is_var_or_elems_access(assign.node, current):
                assert isinstance(assign.target, nodes.Name)
                names.append(assign.target.name)
                if assign.target.name != current:
                    pending.append(assign.target.name)
    return names


def _loop_targets(root, varnames, key=None):
    for loop in root.find_all(nodes.For):
        if any(_is_var_or_elems_access(loop.iter, v, key) for v in varnames):
            assert isinstance(loop.target, nodes.Name)
            yield loop.target.name


def content_format(env, source):
    """vLLM's _detect_content_format: "openai" when some loop iterates over a message's content
    (a message being a loop variable over messages), "string" otherwise or on any failure."""
    try:
        root = env.parse(source)
        message_names = list(_loop_targets(root, _names_bound_to(root, "messages")))
        next(_loop_targets(root, message_names, "content"))
        return "openai"
    except Exception:  # StopIteration included: nothing loops over content
        return "string"


TEXT_PARTS = {"text": "text", "input_text": "text", "output_text": "text",
              "refusal": "refusal", "thinking": "thinking"}


def prepare_message(message, fmt):
    """vLLM's _parse_chat_message_content for a text-only message."""
    role = message["role"]
    content = message.get("content")
    if content is None:
        content = []
    elif isinstance(content, str):
        content = [{"type": "text", "text": content}]
    parts = []
    for part in content:
        if isinstance(part, str):
            text = part
        else:
            kind = part.get("type")
            if kind not in TEXT_PARTS:
                raise ValueError(f"content part type {kind!r} is not text")
            text = part.get(TEXT_PARTS[kind])
            if kind in ("text", "refusal") and text is None:
                continue
        item = {"type": "text", "text": text} if fmt == "openai" else text
        if item:
            parts.append(item)
    out = {"role": role, "content": parts if fmt == "openai" else "\n".join(parts)}
    if role == "assistant":
        if message.get("tool_calls") is not None:
            out["tool_calls"] = [json.loads(json.dumps(c)) for c in message["tool_calls"]]
        if message.get("reasoning") is not None:
            out["reasoning"] = message["reasoning"]
            out["reasoning_content"] = message["reasoning"]
    elif role == "tool":
        if "tool_call_id" in message:
            out["tool_call_id"] = message["tool_call_id"]
        if isinstance(out["content"], list):
            items = out["content"]
            if not any(isinstance(i, dict) and i.get("type") != "text" for i in items):
                out["content"] = "\n".join(i.get("text", "") for i in items
                                           if isinstance(i, dict) and i.get("type") == "text")
    if isinstance(message.get("name"), str):
        out["name"] = message["name"]
    if isinstance(message.get("task"), str):
        out["task"] = message["task"]
    if role == "developer":
        out["tools"] = message.get("tools")
    return out


def postprocess_tool_calls(messages):
    """vLLM's _postprocess_messages: tool-call arguments as objects, empty tool_calls dropped."""
    for message in messages:
        if message["role"] != "assistant" or not isinstance(message.get("tool_calls"), list):
            continue
        if not message["tool_calls"]:
            del message["tool_calls"]
            continue
        for call in message["tool_calls"]:
            arguments = call["function"].get("arguments")
            if isinstance(arguments, str):
                try:
                    call["function"]["arguments"] = json.loads(arguments)
                except json.JSONDecodeError:
                    call["function"]["arguments"] = {}
            elif not isinstance(arguments, (dict, list)):
                call["function"]["arguments"] = {}


def render(env, config, conversation, fmt):
    template = env.from_string(config["chat_template"])
    variables = {name: config[name] for name in SPECIAL_TOKENS if config.get(name) is not None}
    variables.update(conversation.get("chat_template_kwargs", {}))
    try:
        messages = [prepare_message(m, fmt) for m in conversation["messages"]]
        postprocess_tool_calls(messages)
        text = template.render(messages=messages,
                               tools=conversation.get("tools"),
                               documents=conversation.get("documents"),
                               add_generation_prompt=True, **variables)
        return {"text": text}
    except TemplateRaised as e:
        return {"error": str(e), "raised": True}
    except Exception as e:  # what Jinja2 itself refuses: a type error, an undefined value...
        return {"error": f"{type(e).__name__}: {e}", "raised": False}


def main():
    conversations = json.loads((FOLDER / "conversations.json").read_text("utf-8"))["conversations"]
    env = environment()
    cases = json.loads((FOLDER / "content-format-cases.json").read_text("utf-8"))["cases"]
    results = {}
    formats = {}
    for path in sorted(FOLDER.glob("*.json")):
        if path.name in ("conversations.json", "expected.json", "content-format-cases.json"):
            continue
        config = json.loads(path.read_text("utf-8"))
        formats[path.stem] = content_format(env, config["chat_template"])
        results[path.stem] = {name: render(env, config, conversation, formats[path.stem])
                              for name, conversation in conversations.items()}
    out = {
        "content_format_cases": {name: content_format(env, source)
                                 for name, source in cases.items()},
        "_comment": "Generated by testkit/tools/render_chat_templates.py with Jinja2 "
                    + jinja2.__version__ + "; do not edit by hand.",
        "strftime_now": FIXED_NOW.isoformat(),
        "content_format": formats,
        "results": results,
    }
    (FOLDER / "expected.json").write_text(
        json.dumps(out, ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8")
    refused = sum(1 for r in results.values() for v in r.values() if "error" in v)
    total = sum(len(r) for r in results.values())
    print(f"{len(results)} templates x {len(conversations)} conversations: "
          f"{total - refused} rendered, {refused} refused", file=sys.stderr)


if __name__ == "__main__":
    main()
