"""Object storage (MinIO / any S3): buckets, objects, server-side copy and signed URLs.

The MinIO SDK is synchronous; every call runs in a worker thread so the event loop never
blocks on storage. Bucket names get the deployment's prefix (tests isolate themselves by it).
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import timedelta

import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import S3Error

from roleplay_common.settings import StorageSettings

WORKSPACE_TEMP = "workspace-temp"
USER_LIBRARY = "user-library"
PORTRAITS = "portraits"
BUCKETS = (WORKSPACE_TEMP, USER_LIBRARY, PORTRAITS)


class ObjectNotFoundError(LookupError):
    pass


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    content_type: str


class ObjectStorage:
    def __init__(self, settings: StorageSettings) -> None:
        self.settings = settings
        http = urllib3.PoolManager(
            num_pools=10,
            maxsize=20,
            timeout=urllib3.Timeout(connect=3.0, read=30.0),
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503]),
        )
        self.client = Minio(
            settings.endpoint,
            access_key=settings.access_key,
            secret_key=settings.secret_key.get_secret_value(),
            secure=settings.secure,
            region=settings.region,
            http_client=http,
        )
        self.signer = (
            Minio(
                settings.public_endpoint,
                access_key=settings.access_key,
                secret_key=settings.secret_key.get_secret_value(),
                secure=settings.secure,
                region=settings.region,
            )
            if settings.public_endpoint
            else self.client
        )

    def bucket(self, name: str) -> str:
        """The real bucket name of a logical one (`workspace-temp`, `user-library`)."""
        return f"{self.settings.bucket_prefix}{name}"

    async def ensure_buckets(self, names: tuple[str, ...] = BUCKETS) -> None:
        def create() -> None:
            for name in names:
                bucket = self.bucket(name)
                if not self.client.bucket_exists(bucket):
                    try:
                        self.client.make_bucket(bucket)
                    except S3Error as exc:
                        if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                            raise

        await asyncio.to_thread(create)

    async def ping(self) -> None:
        await asyncio.to_thread(self.client.bucket_exists, self.bucket(WORKSPACE_TEMP))

    async def put(
        self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        await asyncio.to_thread(
            self.client.put_object,
            self.bucket(bucket),
            key,
            io.BytesIO(data),
            len(data),
            content_type=content_type,
        )

    async def get(self, bucket: str, key: str) -> StoredObject:
        def read() -> StoredObject:
            try:
                response = self.client.get_object(self.bucket(bucket), key)
            except S3Error as exc:
                if exc.code in ("NoSuchKey", "NoSuchBucket"):
                    raise ObjectNotFoundError(f"{bucket}/{key}") from exc
                raise
            try:
                return StoredObject(
                    data=response.read(),
                    content_type=response.headers.get("Content-Type", "application/octet-stream"),
                )
            finally:
                response.close()
                response.release_conn()

        return await asyncio.to_thread(read)

    async def exists(self, bucket: str, key: str) -> bool:
        def stat() -> bool:
            try:
                self.client.stat_object(self.bucket(bucket), key)
            except S3Error as exc:
                if exc.code in ("NoSuchKey", "NoSuchBucket", "NoSuchObject"):
                    return False
                raise
            return True

        return await asyncio.to_thread(stat)

    async def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> None:
        """Server-side copy: the bytes never pass through this process."""

        def run() -> None:
            try:
                self.client.copy_object(
                    self.bucket(dst_bucket),
                    dst_key,
                    CopySource(self.bucket(src_bucket), src_key),
                )
            except S3Error as exc:
                if exc.code in ("NoSuchKey", "NoSuchBucket"):
                    raise ObjectNotFoundError(f"{src_bucket}/{src_key}") from exc
                raise

        await asyncio.to_thread(run)

    async def delete(self, bucket: str, key: str) -> None:
        await asyncio.to_thread(self.client.remove_object, self.bucket(bucket), key)

    async def signed_url(self, bucket: str, key: str, ttl: timedelta | None = None) -> str:
        """A GET URL that stops working after `ttl` (default from settings)."""
        expires = ttl or timedelta(seconds=self.settings.signed_url_ttl_seconds)
        return await asyncio.to_thread(
            self.signer.presigned_get_object, self.bucket(bucket), key, expires=expires
        )
