"""Scrape a Prometheus endpoint and parse it with the official Python client's parser.

    prom_scrape.py URL

Prints one JSON object: {"content_type": ..., "families": [{"name", "type", "help",
"samples": [[name, {labels}, value], ...]}, ...]}. The parser is Debian's
python3-prometheus-client (prometheus_client.parser.text_string_to_metric_families);
a document it cannot parse makes this exit non-zero.
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main():
    with urllib.request.urlopen(sys.argv[1], timeout=30) as resp:
        content_type = resp.headers.get("Content-Type")
        text = resp.read().decode("utf-8")
    families = []
    for fam in text_string_to_metric_families(text):
        families.append({
            "name": fam.name,
            "type": fam.type,
            "help": fam.documentation,
            "samples": [[s.name, s.labels, s.value] for s in fam.samples],
        })
    json.dump({"content_type": content_type, "families": families}, sys.stdout)


if __name__ == "__main__":
    main()
