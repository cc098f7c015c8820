package io.ringraft.testkit.conformance;

import io.ringraft.storage.InMemorySnapshotStore;
import io.ringraft.storage.RaftSnapshotStore;

import java.nio.file.Path;

/** {@link InMemorySnapshotStore} against the snapshot store conformance suite; it keeps nothing across a reopen. */
class InMemorySnapshotStoreConformanceTest extends SnapshotStoreConformance
{
    @Override
    protected RaftSnapshotStore open(final Path directory)
    {
        return new InMemorySnapshotStore();
    }

    @Override
    protected boolean reopenable()
    {
        return false;
    }
}
