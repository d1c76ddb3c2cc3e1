#!/usr/bin/python3
"""Every relative link in README.md and docs/ points at a file that exists
and, with a #fragment into a Markdown file, at one of its headings (the
anchor GitHub makes of it).  Usage: check_links.py SOURCE_DIR."""

import glob
import os
import re
import sys

LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.*)$", re.M)
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def slug(text):
    """GitHub's anchor for a heading: lower case, punctuation dropped
    (but hyphens and underscores), spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def main(root):
    files = [os.path.join(root, "README.md")] + sorted(
        glob.glob(os.path.join(root, "docs", "**", "*.md"), recursive=True))
    texts = {os.path.normpath(f): FENCE.sub("", open(f, encoding="utf-8").read())
             for f in files}
    anchors = {f: {slug(h) for h in HEADING.findall(t)} for f, t in texts.items()}
    bad = []
    for f, text in texts.items():
        for target in LINK.findall(text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, mailto:, ...
                continue
            path, _, frag = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
            where = os.path.relpath(f, root)
            if not os.path.exists(dest):
                bad.append("%s: '%s': no such file" % (where, target))
            elif frag and dest.endswith(".md"):
                known = anchors.get(dest)
                if known is None:
                    known = {slug(h) for h in HEADING.findall(
                        FENCE.sub("", open(dest, encoding="utf-8").read()))}
                if frag not in known:
                    bad.append("%s: '%s': no heading makes '#%s'" % (where, target, frag))
    for b in bad:
        print(b)
    print("%d files, %d broken links" % (len(files), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
