"""RSA key pairs for the service-account JWT (tests and local runs).

Usage: python -m emulator.keys OUT_DIR  -> writes private.pem and public.pem
"""
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def generate_keypair() -> tuple[str, str]:
    """Return (private_pem, public_pem): RSA 2048, PKCS#8 private key like the Developer Console's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    ).decode("ascii")
    return private_pem, public_pem


def write_keypair(out_dir: str | Path) -> tuple[Path, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    private_pem, public_pem = generate_keypair()
    private_path, public_path = out / "private.pem", out / "public.pem"
    private_path.write_text(private_pem)
    private_path.chmod(0o600)
    public_path.write_text(public_pem)
    return private_path, public_path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m emulator.keys OUT_DIR")
    for path in write_keypair(sys.argv[1]):
        print(path)
