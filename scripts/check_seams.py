#!/usr/bin/env python3
"""Issue 19's bar, measured: lines in src/cli/, std::_Exit outside main.cc, files in src/ over
900 lines, functions in src/ over 120 lines (a data table is not a function, and the posture
catalog is excepted). Heuristic C++ reading: comments, strings and character literals are
blanked, then braces are matched; a brace whose head (the text since the previous ; { or })
holds a parameter list opens a function, lambdas inside count as part of it.
Exit 1 when a bar is not met; -v lists every function over the limit."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src")
FUNC_LIMIT, FILE_LIMIT, CLI_LIMIT = 120, 900, 1600
EXCEPTED = {"src/posture/catalog.cc"}


def blank(text):
    """Comments, string and char literals replaced by spaces (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i)); i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif c == 'R' and text.startswith('R"', i) and (i == 0 or not (text[i-1].isalnum() or text[i-1] == '_')):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if m:
                end = text.find(")" + m.group(1) + '"', i)
                end = n if end < 0 else end + len(m.group(1)) + 2
                out.append(re.sub(r"[^\n]", " ", text[i:end])); i = end
            else:
                out.append(c); i += 1
        elif c in "\"'":
            if c == "'" and i > 0 and text[i-1].isalnum() and i + 1 < n and text[i+1].isalnum():
                out.append(" "); i += 1  # digit separator 1'000
                continue
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(" " * (j - i)); i = j
        else:
            out.append(c); i += 1
    return "".join(out)


def functions(path):
    text = blank(open(path, encoding="utf-8", errors="replace").read())
    # Preprocessor lines (with their continuations) are not part of any head.
    text = re.sub(r"(?m)^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    stack, head, line, found = [], [], 1, []
    for c in text:
        if c == "\n":
            line += 1
        if c == "{":
            h = re.sub(r"\s+", " ", "".join(head)).strip()
            h = re.sub(r"^(public|private|protected)\s*:", "", h).strip()
            head = []
            if any(k in ("func", "other") for k, _, _ in stack):
                stack.append(("other", line, h)); continue
            if re.match(r"^(inline )?namespace\b", h) or h.startswith('extern'):
                kind = "ns"
            elif re.search(r"\b(class|struct|union|enum)\b", h) and "(" not in h.split("=")[0].split(":")[0]:
                kind = "class"
            elif ")" in h and not re.search(r"=\s*$", h) and "=" not in h.split("(")[0]:
                kind = "func"
            else:
                kind = "other"
            stack.append((kind, line, h))
        elif c == "}":
            head = []
            if stack:
                kind, start, h = stack.pop()
                if kind == "func":
                    found.append((line - start + 1, start, h[:90]))
        elif c == ";":
            head = []
        else:
            head.append(c)
    return found


def main():
    verbose = "-v" in sys.argv
    ok = True
    cli = 0
    long_files, long_funcs, exits = [], [], []
    for d, _, files in os.walk(SRC):
        for f in sorted(files):
            if not f.endswith((".cc", ".h", ".cpp")):
                continue
            p = os.path.join(d, f)
            rel = os.path.relpath(p, ROOT)
            n = sum(1 for _ in open(p, encoding="utf-8", errors="replace"))
            if rel.startswith("src/cli/"):
                cli += n
                if f != "main.cc" and "_Exit" in blank(open(p).read()):
                    exits.append(rel)
            if n > FILE_LIMIT and rel not in EXCEPTED:
                long_files.append((n, rel))
            if rel in EXCEPTED:
                continue
            for length, start, h in functions(p):
                if length > FUNC_LIMIT:
                    long_funcs.append((length, f"{rel}:{start}", h))
    print(f"src/cli: {cli} lines (bar < {CLI_LIMIT})")
    print(f"std::_Exit outside src/cli/main.cc: {len(exits)} {' '.join(exits)}")
    print(f"files in src over {FILE_LIMIT} lines: {len(long_files)}")
    for n, rel in sorted(long_files, reverse=True):
        print(f"  {n:5d} {rel}")
    print(f"functions in src over {FUNC_LIMIT} lines: {len(long_funcs)}")
    for length, where, h in sorted(long_funcs, reverse=True)[: None if verbose else 1000]:
        print(f"  {length:5d} {where}  {h}")
    ok = cli < CLI_LIMIT and not exits and not long_files and not long_funcs
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
