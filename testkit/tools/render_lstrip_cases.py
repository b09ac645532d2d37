#!/usr/bin/env python3
"""Expected renderings of templates whose block tags follow text on the same line, under
transformers' settings (trim_blocks, lstrip_blocks): Jinja2 strips the whitespace before a
block tag only at the start of a line. LstripBlocksTest compares the worker's renderings with
these. Rerun: python3 testkit/tools/render_lstrip_cases.py (Jinja2 3.1.x)."""
import json
import pathlib

from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATES = [
    "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}"
    "{% if add_generation_prompt %}[assistant] {% endif %}",
    "{% for m in messages %}  {% if m.role == 'user' %}U: {{ m.content }}{% endif %}\n"
    "{% endfor %}",
    "A\t{# note #}B  {%- if true %} C {% endif %}D",
    "{{ 'x' }}  {% if true %}y{% endif %}\n    {% if true %}z{% endif %}",
    "{% raw %}keep  {% this %}{% endraw %} {% if true %}!{% endif %}",
    "{% set s = 'a {% b' %}{{ s }}  {% if true %}c{% endif %}",
]
VARS = {"messages": [{"role": "user", "content": "hi"},
                     {"role": "assistant", "content": "yo"}],
        "add_generation_prompt": True}

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                    extensions=["jinja2.ext.loopcontrols"])
cases = [{"template": t, "expected": env.from_string(t).render(**VARS)} for t in TEMPLATES]
out = pathlib.Path(__file__).resolve().parents[2] / "worker/src/test/resources/jinja/lstrip-cases.json"
out.write_text(json.dumps({"variables": VARS, "cases": cases}, indent=2, ensure_ascii=False) + "\n")
print(f"wrote {len(cases)} cases to {out}")
