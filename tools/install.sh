#!/bin/sh
# install.sh -D DIR [-m MODE] FILE...: copies each FILE into DIR atomically
# (temporary name, then rename), creating DIR as needed.
set -e
dir= ; mode=0755
while test $# -gt 0 ; do
  case "$1" in
    -D) dir=$2 ; shift 2 ;;
    -m) mode=$2 ; shift 2 ;;
    --) shift ; break ;;
    -*) echo "install.sh: usage: install.sh -D DIR [-m MODE] FILE..." 1>&2 ; exit 100 ;;
    *) break ;;
  esac
done
test -n "$dir" || { echo "install.sh: -D DIR is required" 1>&2 ; exit 100 ; }
mkdir -p "$dir"
for f ; do
  b=$(basename "$f")
  cp -f "$f" "$dir/.$b.tmp.$$"
  chmod "$mode" "$dir/.$b.tmp.$$"
  mv -f "$dir/.$b.tmp.$$" "$dir/$b"
done
