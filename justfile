# Qeynos front door: thin wrappers over the deno.json tasks.
# Run `node scripts/bootstrap.mjs <task>` instead when deno is not installed yet.

# list the recipes
default:
    @just --list

# the whole CI gate: fmt, lint, check, tests on Deno and Bun, compiled-binary smoke test
ci:
    deno task ci

# the test suite under Deno (`just test-bun` for Bun)
test *ARGS:
    deno task test {{ARGS}}

# the test suite under Bun
test-bun *ARGS:
    deno task test:bun {{ARGS}}

# format the sources
fmt:
    deno fmt

# lint and type-check
lint:
    deno task lint
    deno task check

# run every benchmark in test/bench (optionally only those matching NAME)
bench NAME="":
    deno task bench {{NAME}}

# run a scenario file in the simulator
sim FILE *ARGS:
    deno task qeynos scenario run {{FILE}} {{ARGS}}

# run the server (all roles in one process)
serve *ARGS:
    deno task qeynos serve {{ARGS}}

# run any qeynos command: just qeynos doctor
qeynos *ARGS:
    deno task qeynos {{ARGS}}

# build the single executable with Bun (dist/qeynos)
compile-bun:
    deno task compile:bun

# build the single executable with deno compile (downloads the Deno runtime once)
compile:
    deno task compile
