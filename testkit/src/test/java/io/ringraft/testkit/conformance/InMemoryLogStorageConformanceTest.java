package io.ringraft.testkit.conformance;

import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.RaftLogStorage;

import java.nio.file.Path;

/** {@link InMemoryLogStorage} against the log storage conformance suite; it keeps nothing across a reopen. */
class InMemoryLogStorageConformanceTest extends LogStorageConformance
{
    @Override
    protected RaftLogStorage open(final Path directory)
    {
        return new InMemoryLogStorage();
    }

    @Override
    protected boolean reopenable()
    {
        return false;
    }
}
