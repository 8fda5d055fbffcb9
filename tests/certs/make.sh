#!/bin/sh
# make.sh - remake the throwaway test certificates in this folder.
#
# Run it from anywhere: sh tests/certs/make.sh.  It needs the openssl(1)
# command line tool.  The files are fixtures: tests read them and never
# write them, and nothing here may be used outside the tests.
#
#   ca.pem ca.key         a throwaway CA ("tern test CA")
#   host.pem host.key     localhost, 127.0.0.1, ::1, mx.test.example,
#                         smtp.test.example; signed by the CA
#   chain.pem             host.pem then ca.pem (a certificate with chain)
#   other.pem other.key   wrong.example, signed by the CA (wrong name)
#   self.pem self.key     localhost, self-signed (no CA)
#   expired.pem expired.key  localhost, signed by the CA, expired in 2001
#   host.spki-sha256 other.spki-sha256  TLSA 3 1 1 data of host, other
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
days=36500

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem \
    -days $days -subj "/CN=tern test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

leaf() {	# name cn san [ca-args...]
	name=$1 cn=$2 san=$3
	shift 3
	openssl req -newkey rsa:2048 -nodes -keyout "$name.key" \
	    -out "$tmp/$name.csr" -subj "/CN=$cn" 2>/dev/null
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
	    "$san" > "$tmp/$name.ext"
	openssl x509 -req -in "$tmp/$name.csr" -CA ca.pem -CAkey ca.key \
	    -CAcreateserial -CAserial "$tmp/serial" -days $days \
	    -extfile "$tmp/$name.ext" -out "$name.pem" 2>/dev/null
}

leaf host localhost "DNS:localhost,DNS:mx.test.example,DNS:smtp.test.example,IP:127.0.0.1,IP:::1"
leaf other wrong.example "DNS:wrong.example"
cat host.pem ca.pem > chain.pem

openssl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem \
    -days $days -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

# An expired one: openssl ca takes explicit start and end dates.
mkdir "$tmp/ca"
: > "$tmp/ca/index.txt"
echo 01 > "$tmp/ca/serial"
cat > "$tmp/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
dir = $tmp/ca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = ext
[any]
commonName = supplied
[ext]
subjectAltName = DNS:localhost,IP:127.0.0.1
basicConstraints = CA:FALSE
CNF
openssl req -newkey rsa:2048 -nodes -keyout expired.key \
    -out "$tmp/expired.csr" -subj "/CN=localhost" 2>/dev/null
openssl ca -batch -config "$tmp/ca.cnf" -cert ca.pem -keyfile ca.key \
    -startdate 20000101000000Z -enddate 20010101000000Z \
    -in "$tmp/expired.csr" -out expired.pem -notext 2>/dev/null
# DANE (RFC 7672) fixtures: the SHA-256 of each leaf's public key (SPKI
# DER), the data of a "3 1 1" TLSA record, as one hex line.
for name in host other; do
	openssl x509 -in "$name.pem" -pubkey -noout |
	    openssl pkey -pubin -outform DER |
	    openssl dgst -sha256 -r | cut -d' ' -f1 > "$name.spki-sha256"
done
chmod 0644 ./*.pem ./*.key ./*.spki-sha256
echo "certificates remade in $(pwd)"
