#!/usr/bin/env python3
"""Writes the shape of .proto files as a table: every message, field (number, type, label,
oneof), enum value and RPC, one per line, sorted. ProtocolParityTest compares our generated
descriptors against the table made from upstream's files, so a drift on either side fails.

Upstream is lightseekorg/smg, crates/grpc_client/proto/vllm_engine.proto and common.proto
(the commits are named in the table's header). To refresh after upstream changes:

    curl -sO https://raw.githubusercontent.com/lightseekorg/smg/<commit>/crates/grpc_client/proto/vllm_engine.proto
    curl -sO https://raw.githubusercontent.com/lightseekorg/smg/<commit>/crates/grpc_client/proto/common.proto
    python3 proto/tools/proto_table.py "<source note>" vllm_engine.proto common.proto \
        > proto/src/test/resources/upstream-proto-table.tsv

then bring proto/src/main/proto/*.proto in step until the test passes.

Rows (tab-separated):
    message <full name>
    field   <message> <name> <number> <type> <label> <oneof>
    enum    <full name>
    value   <enum> <name> <number>
    rpc     <service> <name> <input> <output> <client streaming> <server streaming>
label is optional (proto3 `optional`), repeated (also maps) or singular; oneof is the name of
a real oneof or "-"; types are scalar keywords, map<k,v>, or full names of messages and enums.
"""
import re
import sys

SCALARS = {"double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
           "fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes"}
TOKEN = re.compile(r'"[^"]*"|[A-Za-z_][\w.]*|-?\d+|[{}()<>;=,\[\]]')


def tokens(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return TOKEN.findall(text)


class Parser:
    def __init__(self, toks):
        self.t, self.i = toks, 0
        self.package = ""
        self.messages, self.enums, self.services = [], [], []

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self, expect=None):
        tok = self.t[self.i]
        self.i += 1
        if expect is not None and tok != expect:
            raise SyntaxError(f"expected {expect!r}, got {tok!r} at token {self.i}")
        return tok

    def skip_statement(self):
        while self.take() != ";":
            pass

    def parse(self):
        while self.peek() is not None:
            tok = self.take()
            if tok == "package":
                self.package = self.take()
                self.take(";")
            elif tok in ("syntax", "import", "option"):
                self.skip_statement()
            elif tok == "message":
                self.message(self.package)
            elif tok == "enum":
                self.enum(self.package)
            elif tok == "service":
                self.service()
            else:
                raise SyntaxError(f"unexpected {tok!r}")

    def full(self, scope, name):
        return f"{scope}.{name}" if scope else name

    def message(self, scope):
        name = self.full(scope, self.take())
        fields = []
        self.messages.append((name, fields))
        self.take("{")
        oneof = "-"
        depth_oneof = False
        while True:
            tok = self.peek()
            if tok == "}":
                self.take()
                if depth_oneof:
                    depth_oneof, oneof = False, "-"
                    continue
                return
            if tok == "message":
                self.take()
                self.message(name)
            elif tok == "enum":
                self.take()
                self.enum(name)
            elif tok in ("reserved", "option"):
                self.skip_statement()
            elif tok == "oneof":
                self.take()
                oneof = self.take()
                self.take("{")
                depth_oneof = True
            else:
                label = "singular"
                if tok in ("optional", "repeated"):
                    label = self.take()
                ftype = self.take()
                if ftype == "map":
                    self.take("<")
                    key = self.take()
                    self.take(",")
                    value = self.take()
                    self.take(">")
                    ftype, label = ("map", key, value), "repeated"
                fname = self.take()
                self.take("=")
                number = int(self.take())
                if self.peek() == "[":
                    while self.take() != "]":
                        pass
                self.take(";")
                fields.append([fname, number, ftype, label, oneof, name])

    def enum(self, scope):
        name = self.full(scope, self.take())
        values = []
        self.enums.append((name, values))
        self.take("{")
        while self.peek() != "}":
            if self.peek() in ("option", "reserved"):
                self.skip_statement()
                continue
            vname = self.take()
            self.take("=")
            values.append((vname, int(self.take())))
            self.skip_statement()
        self.take("}")

    def service(self):
        name = self.full(self.package, self.take())
        self.take("{")
        while self.peek() != "}":
            self.take("rpc")
            rname = self.take()
            self.take("(")
            cs = self.peek() == "stream" and bool(self.take())
            inp = self.take()
            self.take(")")
            self.take("returns")
            self.take("(")
            ss = self.peek() == "stream" and bool(self.take())
            out = self.take()
            self.take(")")
            if self.peek() == "{":
                while self.take() != "}":
                    pass
            else:
                self.take(";")
            self.services.append((name, rname, inp, out, cs, ss))
        self.take("}")


def resolve(ref, scope, known):
    """Protobuf's rule: look the name up from the innermost scope outwards."""
    if ref in SCALARS:
        return ref
    if ref.startswith("."):
        return ref[1:]
    parts = scope.split(".")
    while parts:
        candidate = ".".join(parts + [ref])
        if candidate in known:
            return candidate
        parts.pop()
    if ref in known:
        return ref
    raise KeyError(f"cannot resolve {ref} from {scope}")


def main(note, paths):
    parsers = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            p = Parser(tokens(f.read()))
        p.parse()
        parsers.append(p)
    known = {m for p in parsers for m, _ in p.messages} | {e for p in parsers for e, _ in p.enums}
    rows = []
    for p in parsers:
        for name, fields in p.messages:
            rows.append(("message", name))
            for fname, number, ftype, label, oneof, scope in fields:
                if isinstance(ftype, tuple):
                    shown = f"map<{resolve(ftype[1], scope, known)},{resolve(ftype[2], scope, known)}>"
                else:
                    shown = resolve(ftype, scope, known)
                rows.append(("field", name, fname, str(number), shown, label, oneof))
        for name, values in p.enums:
            rows.append(("enum", name))
            for vname, number in values:
                rows.append(("value", name, vname, str(number)))
        for service, rname, inp, out, cs, ss in p.services:
            rows.append(("rpc", service, rname, resolve(inp, p.package, known),
                         resolve(out, p.package, known), str(cs).lower(), str(ss).lower()))
    print(f"# generated by proto/tools/proto_table.py from {note}; do not edit by hand")
    for row in sorted(rows):
        print("\t".join(row))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
