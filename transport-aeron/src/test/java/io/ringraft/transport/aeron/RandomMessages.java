package io.ringraft.transport.aeron;

import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.InstallSnapshotResponse;
import io.ringraft.network.Introduce;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.ReadIndexRequest;
import io.ringraft.network.ReadIndexResponse;
import io.ringraft.network.TimeoutNow;
import io.ringraft.network.VoteRequest;
import io.ringraft.network.VoteResponse;
import io.ringraft.storage.SnapshotMeta;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Valid messages of every type with random fields, from a seeded {@link Random}. */
final class RandomMessages
{
    private static final Membership[] MEMBERSHIPS = {
        Membership.of(1, 2, 3),
        Membership.of(new long[]{1, 2, 3}, new long[]{3, 4, 5}, new long[]{9}, Map.of(4L, "127.0.0.1:4004")),
    };

    private final Random random;

    RandomMessages(final Random random)
    {
        this.random = random;
    }

    RaftMessage next(final long from, final long to)
    {
        final long term = nonNegative();
        switch (random.nextInt(10))
        {
            case 0:
                return new VoteRequest(from, to, term, logId(), random.nextBoolean(), random.nextBoolean());
            case 1:
                return new VoteResponse(from, to, term, random.nextBoolean(), random.nextBoolean());
            case 2:
            {
                final LogId prev = logId();
                final int count = random.nextInt(9);
                final List<Entry> entries = new ArrayList<>(count);
                for (int i = 0; i < count; i++)
                {
                    final int kind = random.nextInt(4);
                    final long index = prev.index() + 1 + i;
                    entries.add(kind == 0 ? Entry.blank(term, index) :
                        kind == 1 ? Entry.membership(term, index, MEMBERSHIPS[random.nextInt(MEMBERSHIPS.length)]) :
                        new Entry(term, index, EntryType.NORMAL, bytes(random.nextInt(65))));
                }
                return new AppendEntriesRequest(from, to, term, prev, random.nextLong(), random.nextLong(), entries);
            }
            case 3:
                return new AppendEntriesResponse(from, to, term, random.nextBoolean(), random.nextLong(), random.nextLong(),
                    random.nextLong(), random.nextLong());
            case 4:
            {
                final SnapshotMeta meta = new SnapshotMeta(logId(),
                    random.nextInt(4) == 0 ? null : MEMBERSHIPS[random.nextInt(MEMBERSHIPS.length)],
                    random.nextInt(4) == 0 ? null : "snap-" + random.nextInt(1000) + "-\u00e9", random.nextLong(), random.nextInt());
                return new InstallSnapshotRequest(from, to, term, meta, random.nextLong(),
                    random.nextInt(8) == 0 ? null : bytes(random.nextInt(200)), random.nextBoolean());
            }
            case 5:
                return new InstallSnapshotResponse(from, to, term, random.nextInt(4) == 0 ? null : "s" + random.nextInt(),
                    random.nextLong(), random.nextBoolean());
            case 6:
                return new ReadIndexRequest(from, to, term, random.nextLong());
            case 7:
                return new ReadIndexResponse(from, to, term, random.nextLong(), random.nextLong(), random.nextBoolean(),
                    random.nextInt(5));
            case 8:
                return new Introduce(from, to, term, "127.0.0.1:" + random.nextInt(65536) + (random.nextBoolean() ? "" : " \u00e9"));
            default:
                return new TimeoutNow(from, to, term);
        }
    }

    private LogId logId()
    {
        return new LogId(nonNegative(), nonNegative() >>> 1);
    }

    private long nonNegative()
    {
        return random.nextBoolean() ? random.nextInt(1000) : random.nextLong() & Long.MAX_VALUE;
    }

    private byte[] bytes(final int length)
    {
        final byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }
}
