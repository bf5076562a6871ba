#!/usr/bin/env python3
"""Generates the `rules:` block of a detour config for scenario (f) of the benchmark.

    gen_rules.py N [--target /old] [--location /last]

prints N rules (YAML, indented for detour.yaml.in's @@RULES@@): N-1 rules that never match the
benchmark's request (GET /old, Host 127.0.0.1:PORT) cycling through every kind of match (exact
paths, path prefixes, RE2 regexes, exact hosts, wildcard hosts, methods, headers), several of
them near misses of /old, and last the one rule that matches: `path: TARGET` -> 307 LOCATION.
The 10-rule table and the 10,000-rule table end with the same rule, so the only difference the
benchmark sees is the size of the table in front of it.
"""
import argparse
import sys


def rule_lines(i):
    k = i % 8
    if k == 0:
        return [f"  - name: exact-{i}",
                f"    match: {{ path: /exact/{i}/page.html }}",
                f"    redirect: {{ to: /moved/exact/{i} }}"]
    if k == 1:
        return [f"  - name: prefix-{i}",
                f"    match: {{ path_prefix: /prefix/{i}/ }}",
                f"    redirect: {{ to: \"/moved/prefix/{i}/{{path_suffix}}\" }}"]
    if k == 2:
        return [f"  - name: regex-{i}",
                f"    match: {{ path_regex: \"/re/{i}/([a-z]+)/([0-9]+)\" }}",
                f"    redirect: {{ to: \"/moved/re/{i}/{{1}}/{{2}}\", code: 308 }}"]
    if k == 3:
        return [f"  - name: host-{i}",
                f"    match: {{ host: h{i}.example.com }}",
                f"    redirect: {{ to: \"https://h{i}.example.net{{uri}}\" }}"]
    if k == 4:
        return [f"  - name: wildcard-{i}",
                f"    match: {{ host: \"*.w{i}.example.org\", path_prefix: /old }}",
                f"    redirect: {{ to: \"https://w{i}.example.org{{uri}}\" }}"]
    if k == 5:   # near misses of the benchmark's path /old
        return [f"  - name: near-exact-{i}",
                f"    match: {{ path: /old/{i} }}",
                f"    redirect: {{ to: /moved/near/{i} }}"]
    if k == 6:
        return [f"  - name: near-regex-{i}",
                f"    match: {{ path_regex: \"/ol[d]-{i}(/.*)?\" }}",
                f"    redirect: {{ to: \"/moved/near-re/{i}{{1}}\" }}"]
    return [f"  - name: methods-{i}",
            f"    match: {{ path: /old, methods: [POST, PUT], headers: {{ X-Bench-{i}: \"yes\" }} }}",
            f"    redirect: {{ to: /moved/methods/{i}, code: 307 }}"]


def generate(n, target="/old", location="/last"):
    if n < 1:
        raise ValueError("need at least one rule")
    lines = []
    for i in range(n - 1):
        lines += rule_lines(i)
    lines += ["  - name: the-last-rule",
              f"    match: {{ path: {target} }}",
              f"    redirect: {{ to: {location}, code: 307 }}"]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("--target", default="/old")
    ap.add_argument("--location", default="/last")
    a = ap.parse_args()
    sys.stdout.write(generate(a.n, a.target, a.location))


if __name__ == "__main__":
    main()
