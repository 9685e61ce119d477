#!/usr/bin/env bash
# Which module uses which module's symbols, from the objects the build made
# (nm), and whether any of them use each other in a cycle.
#
#   scripts/check-deps.sh [--by-file] [-v] OBJDIR MODULE...
#
# MODULE is a source folder (e.g. agent/core); its objects are OBJDIR/MODULE/*.o
# (not its sub-folders: each sub-folder is a module of its own). With
# --by-file every object is a node of its own (the picture inside a folder).
# Prints the graph, one line per edge ("a -> b  (n symbols)", -v names
# them), then every cycle (strongly connected group of nodes), and exits 1
# if there is one. `make check` and `make test` run it over the tree's modules.
set -u
by_file=0 verbose=0
while [ $# -gt 0 ]; do
	case $1 in
	--by-file) by_file=1; shift ;;
	-v) verbose=1; shift ;;
	-h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) break ;;
	esac
done
if [ $# -lt 2 ]; then
	echo "usage: $0 [--by-file] [-v] OBJDIR MODULE..." >&2
	exit 2
fi
objdir=$1; shift

# "node D sym" for every global symbol an object defines, "node U sym" for
# every one it needs.
list_syms() {
	local m o node n=0
	for m in "$@"; do
		for o in "$objdir/$m"/*.o; do
			[ -e "$o" ] || continue
			n=$((n + 1))
			if [ $by_file -eq 1 ]; then node="$m/$(basename "$o" .o)"; else node=$m; fi
			nm -g "$o" | awk -v n="$node" \
				'NF == 2 && $1 == "U" { print n, "U", $2; next }
				 NF == 3 && $2 ~ /^[BCDGRSTVW]$/ { print n, "D", $3 }'
		done
	done
	if [ $n -eq 0 ]; then
		echo "check-deps: no objects under $objdir for: $*" >&2
		return 1
	fi
}

syms=$(list_syms "$@") || exit 2
printf '%s\n' "$syms" | awk -v verbose=$verbose '
$2 == "D" { def[$3] = $1; if (!($1 in idx)) { idx[$1] = ++nn; name[nn] = $1 } next }
$2 == "U" { use[++nu] = $1 " " $3; if (!($1 in idx)) { idx[$1] = ++nn; name[nn] = $1 } }
END {
	for (k = 1; k <= nu; k++) {
		split(use[k], a, " ")
		if (!(a[2] in def) || def[a[2]] == a[1])
			continue
		e = idx[a[1]] SUBSEP idx[def[a[2]]]
		if (!(e SUBSEP a[2] in seen)) {
			seen[e SUBSEP a[2]] = 1
			cnt[e]++
			syms[e] = syms[e] " " a[2]
		}
		r[idx[a[1]], idx[def[a[2]]]] = 1
	}
	n_edges = 0
	for (i = 1; i <= nn; i++)
		for (j = 1; j <= nn; j++)
			if ((i, j) in cnt) {
				n_edges++
				printf "  %s -> %s  (%d symbol%s)%s\n", name[i], name[j], cnt[i, j],
				       cnt[i, j] == 1 ? "" : "s", verbose ? ":" syms[i, j] : ""
			}
	# reachability (Floyd-Warshall): i and j are in one cycle when each reaches the other
	for (k = 1; k <= nn; k++)
		for (i = 1; i <= nn; i++)
			if ((i, k) in r)
				for (j = 1; j <= nn; j++)
					if ((k, j) in r)
						r[i, j] = 1
	cycles = 0
	for (i = 1; i <= nn; i++) {
		if (done[i] || !((i, i) in r))
			continue
		cycles++
		line = ""
		for (j = i; j <= nn; j++)
			if ((i, j) in r && (j, i) in r) {
				done[j] = 1
				line = line " " name[j]
			}
		printf "CYCLE %d:%s\n", cycles, line
	}
	printf "check-deps: %d nodes, %d edges, %d cycle%s\n", nn, n_edges, cycles,
	       cycles == 1 ? "" : "s"
	exit cycles ? 1 : 0
}'
