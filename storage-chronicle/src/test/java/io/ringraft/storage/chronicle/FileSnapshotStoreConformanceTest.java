package io.ringraft.storage.chronicle;

import io.ringraft.storage.RaftSnapshotStore;
import io.ringraft.testkit.conformance.SnapshotStoreConformance;

import java.nio.file.Path;

/** {@link FileSnapshotStore} against the snapshot store conformance suite. */
class FileSnapshotStoreConformanceTest extends SnapshotStoreConformance
{
    @Override
    protected RaftSnapshotStore open(final Path directory)
    {
        return FileSnapshotStore.open(directory.resolve("snapshots"));
    }
}
