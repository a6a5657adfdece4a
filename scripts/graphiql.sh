#!/usr/bin/env bash
# GraphiQL's scripts and styles, so that the page at /graphql loads nothing from unpkg.com (which many
# machines cannot reach): the npm packages Strawberry's page names, fetched once per user from the
# npm registry, checked against the sha512 pinned here, and unpacked as <name>@<version>/ (unpkg's layout).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# name, version and the registry's dist.integrity (`npm view NAME@VERSION dist.integrity`) of each
# package that strawberry/static/graphiql.html loads; graphiql.py names the files it takes from them.
packages=(
  "react 18.2.0 sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ=="
  "react-dom 18.2.0 sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g=="
  "js-cookie 3.0.5 sha512-cEiJEAEoIbWfCZYKWhVwFuvPX1gETRYPw6LlaTKoxD3s2AkXzkCjnp6h0V77ozyqj0jakteJ4YqDJT830+lVGw=="
  "graphiql 3.8.3 sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw=="
  "@graphiql/plugin-explorer 1.0.2 sha512-9j+kg2UjtLZD5EBmGjeWHkoVVxtbShYg2DzbUVebibnZYZM/iMBEF4vaccXJIAm5KaomIPLx0aoNs4LbODyc3Q=="
)
dir=$GRAPHIQL_ASSETS_DIR
mkdir -p "$(dirname "$dir")"
# The marker holds the list it was made from: a changed pin fetches everything again.
[[ -f $dir/.complete && $(<"$dir/.complete") == "${packages[*]}" ]] && exit 0

log "fetching GraphiQL's files from the npm registry into $dir"
tmp=$(mktemp -d "$dir.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for package in "${packages[@]}"; do
  read -r name version integrity <<<"$package"
  tarball=$tmp/${name##*/}-$version.tgz
  curl -fsSL --retry 3 -m 120 -o "$tarball" "https://registry.npmjs.org/$name/-/${name##*/}-$version.tgz" ||
    die "could not download $name $version from the npm registry"
  sha512=$(base64 -d <<<"${integrity#sha512-}" | od -An -v -tx1 | tr -d ' \n')
  sha512sum --quiet -c <<<"$sha512  $tarball" >/dev/null 2>&1 ||
    die "$name $version from the npm registry does not match its pinned sha512"
  mkdir -p "$tmp/$name@$version"
  tar -xzf "$tarball" -C "$tmp/$name@$version" --strip-components=1 --no-same-owner
  rm "$tarball"
done
printf '%s' "${packages[*]}" >"$tmp/.complete"
rm -rf "$dir"
mv -T "$tmp" "$dir" 2>/dev/null || log "another run filled $dir at the same time; using its files"
