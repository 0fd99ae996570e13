#!/bin/bash
# Third-party clients against a throwaway berthd (see sandbox-env.sh): Debian's docker-compose
# 1.29 on the seeds' final exercise (examples/seeds-exercise) and the Docker SDK for Python
# (python3-docker, examples/python-sdk/example.py). This is where the README's compatibility output comes from.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sandbox-env.sh
cd examples/seeds-exercise

show docker-compose -p shop up -d
show docker-compose -p shop ps
show curl -s --retry 20 --retry-connrefused --retry-delay 1 http://localhost:8080/
show docker-compose -p shop up -d --scale worker=3
show "docker-compose -p shop exec -T worker nslookup worker. | grep Address:"
show docker-compose -p shop down -t 1
cd ../..
show /usr/bin/python3 -I examples/python-sdk/example.py
