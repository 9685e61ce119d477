#!/usr/bin/env bash
# dashboards_schema.sh — every dashboards/*.json type-checks against Grafana's
# published dashboard model: the `Dashboard` interface of the npm package
# @grafana/schema (Grafana has no Debian package), checked with TypeScript's
# tsc. Each dashboard becomes `const d: AsJson<Dashboard> = <its JSON>;` so
# tsc checks every field's type and enum value and refuses keys the model
# does not have (excess property check). AsJson<T> is T as JSON spells it:
# the schema's TypeScript string enums (ThresholdsMode.Absolute) become their
# string values ("absolute"), nothing else changes. Fields the schema gives a
# default are required in its TypeScript types, so a dashboard spells them out.
# Deliberately broken copies must fail, so the check is known to bite.
#
# npm installs the two packages (versions pinned below) into
# build/dashboard-schema/ once; later runs reuse it. Without the registry the
# test fails (docs/testing.md: a missing tool is no reason to skip).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${RTV_SCHEMA_DIR:-$ROOT/build/dashboard-schema}
SCHEMA_VER=13.2.3 TS_VER=5.9.3
. "$ROOT/tests/lib/common.sh"

need_cmd node npm jq
mkdir -p "$DIR"
have() { [ "$(jq -r .version "$DIR/node_modules/$1/package.json" 2>/dev/null)" = "$2" ]; }
if ! have @grafana/schema "$SCHEMA_VER" || ! have typescript "$TS_VER"; then
	if ! npm install --no-audit --no-fund --no-save --cache "$DIR/.npm" --prefix "$DIR" \
		"@grafana/schema@$SCHEMA_VER" "typescript@$TS_VER" >"$DIR/npm.log" 2>&1; then
		echo "dashboards_schema: npm install failed (registry unreachable?): $(tail -n 2 "$DIR/npm.log")"
		exit 1
	fi
fi
TSC=$DIR/node_modules/typescript/bin/tsc

mkdir -p "$DIR/src"
cat >"$DIR/src/asjson.ts" <<'TS'
import type { Dashboard } from '@grafana/schema';
// T as JSON spells it: string enums become the union of their values
export type AsJson<T> =
	T extends string ? (string extends T ? string : `${T}`) :
	T extends number | boolean | null | undefined ? T :
	T extends readonly (infer U)[] ? AsJson<U>[] :
	{ [K in keyof T]: AsJson<T[K]> };
export type JsonDashboard = AsJson<Dashboard>;
TS

# to_ts NAME JSON_FILE: the dashboard as a TypeScript module
to_ts() {
	{
		echo "import type { JsonDashboard } from './asjson.js';"
		printf 'export const d: JsonDashboard = '
		cat "$2"
		echo ';'
	} >"$DIR/src/$1.ts"
}
# tsc NAME.ts...: one type check of these modules; errors on stdout
tsc_check() {
	(cd "$DIR/src" && "$TSC" --noEmit --strict --module nodenext --moduleResolution nodenext \
		--target es2020 "$@" 2>&1)
}

step "dashboards against @grafana/schema $SCHEMA_VER (Dashboard), tsc $TS_VER"
names=()
for f in "$ROOT"/dashboards/*.json; do
	names+=("$(basename "$f" .json)")
	to_ts "${names[-1]}" "$f"
done
[ ${#names[@]} -gt 0 ] || bad "no dashboards/*.json found"
tsc_check "${names[@]/%/.ts}" >"$DIR/dashboards.err"
for name in "${names[@]}"; do
	n=$(grep -c "^$name.ts(" "$DIR/dashboards.err")
	if [ "$n" -eq 0 ]; then ok "$name.json matches the Dashboard type"
	else bad "$name.json: $n type errors:"; grep "^$name.ts(" "$DIR/dashboards.err" | head -n 8 | sed 's/^/     | /'; fi
done
grep -q 'error TS' "$DIR/dashboards.err" && ! grep -q '^[a-z-]*\.ts(' "$DIR/dashboards.err" &&
	bad "tsc failed: $(head -n 3 "$DIR/dashboards.err")"

# the check must bite: a wrong type (refresh as a number), an unknown key,
# a value outside an enum; each refused for that reason
first=$(ls "$ROOT"/dashboards/*.json | head -1)
jq '.refresh = 5' "$first" >"$DIR/broken1.json"
jq '.panels[0].notAGrafanaKey = true' "$first" >"$DIR/broken2.json"
jq '.panels[0].fieldConfig.defaults.thresholds.mode = "relative-ish"' "$first" >"$DIR/broken3.json"
for b in broken1 broken2 broken3; do to_ts "$b" "$DIR/$b.json"; done
tsc_check broken1.ts broken2.ts broken3.ts >"$DIR/broken.err"
declare -A want=([broken1]="'number' is not assignable" [broken2]=notAGrafanaKey [broken3]=relative-ish)
for b in broken1 broken2 broken3; do
	if grep "^$b.ts(" "$DIR/broken.err" | grep -q "${want[$b]}"; then
		ok "a broken dashboard ($b: $(grep -m1 "^$b.ts(" "$DIR/broken.err" | grep -o 'error TS[0-9]*')) is refused"
	else bad "a broken dashboard ($b) passed the check"; fi
done
finish
