package io.ringraft.testkit.sim;

import io.ringraft.storage.RaftLogStorage;
import io.ringraft.testkit.conformance.LogStorageConformance;

import java.nio.file.Path;

/** {@link SimLogStorage} against the log storage conformance suite; like any heap log it keeps nothing across a reopen. */
final class SimLogStorageConformanceTest extends LogStorageConformance
{
    @Override
    protected RaftLogStorage open(final Path directory)
    {
        return new SimLogStorage();
    }

    @Override
    protected boolean reopenable()
    {
        return false;
    }
}
