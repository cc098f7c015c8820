package io.ringraft.storage.chronicle;

import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.storage.RaftLogStorage;
import io.ringraft.testkit.conformance.LogStorageConformance;

import java.nio.file.Path;

/** {@link ChronicleLogStorage} against the log storage conformance suite, with 16-entry segments so that most checks cross cycle files. */
class ChronicleLogStorageConformanceTest extends LogStorageConformance
{
    static final int SEGMENT_ENTRIES = 16;

    @Override
    protected RaftLogStorage open(final Path directory)
    {
        return ChronicleLogStorage.open(new ChronicleStorageContext()
            .directory(directory)
            .durability(DurabilityPolicy.BATCH)
            .segmentEntries(SEGMENT_ENTRIES)
            .blockSize(64 << 10));
    }

    /** The 64 KiB blocks take payloads up to about a quarter of that. */
    @Override
    protected int largestPayload()
    {
        return 16_000;
    }

    @Override
    protected int entriesToCrossSegments()
    {
        return 10 * SEGMENT_ENTRIES + 7;
    }
}
