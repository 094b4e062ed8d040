#!/usr/bin/env python3
"""Refreshes README snippets: a block whose first line is `// examples/<file>.ts` or
`// examples/<file>.ts (lines A-B)` is replaced by those lines of that file.
Run: python3 scripts/readme-snippets.py"""
import re, pathlib
root = pathlib.Path(__file__).resolve().parent.parent
readme = (root / 'README.md').read_text()

def expand(m):
    head = m.group(1)
    hm = re.match(r'// (examples/\S+\.ts)(?: \(lines (\d+)-(\d+)\))?', head)
    if not hm:
        return m.group(0)
    lines = (root / hm.group(1)).read_text().rstrip('\n').split('\n')
    a = int(hm.group(2) or 2); b = int(hm.group(3) or len(lines))
    body = '\n'.join(lines[a - 1:b])
    return f"```ts\n{head}\n{body}\n```"

readme = re.sub(r'```ts\n(// [^\n]*)\n[\s\S]*?```', expand, readme)
(root / 'README.md').write_text(readme)
