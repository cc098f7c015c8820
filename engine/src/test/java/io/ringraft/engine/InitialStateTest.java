package io.ringraft.engine;

import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.SnapshotMeta;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Restart: the engine's starting point from the persisted vote, log and snapshot. */
class InitialStateTest
{
    private static InMemoryLogStorage log(final long... terms)
    {
        final InMemoryLogStorage storage = new InMemoryLogStorage();
        storage.saveVote(new Vote(3, 1, false));
        storage.append(Entry.membership(0, 1, Membership.of(1, 2, 3)));
        for (int i = 0; i < terms.length; i++)
        {
            storage.append(new Entry(terms[i], i + 2, EntryType.NORMAL, new byte[1]));
        }
        return storage;
    }

    private static SnapshotMeta snapshot(final long term, final long index)
    {
        return new SnapshotMeta(new LogId(term, index), Membership.of(1, 2, 3), "s", 1, 0);
    }

    @Test
    void snapshotAheadOfTheDurableLogLeavesTheLogEmptyAfterIt()
    {
        // Applied (and snapshotted) up to 9 from entries a quorum held, while only 1..3 were durable here.
        final InMemoryLogStorage storage = log(1, 1);
        final InitialState state = InitialState.load(storage, snapshot(1, 9), new LogId(1, 9));
        assertEquals(new LogId(1, 9), storage.lastPurgedLogId());
        assertEquals(new LogId(1, 9), state.lastLog());
        final Engine engine = new Engine(EngineFixture.config(1), state, new SplittableRandom(1), new RecordingOutput());
        engine.start(0);
        assertEquals(new LogId(1, 9), engine.lastLogId());
        assertEquals(9, engine.committedIndex());
        assertEquals(Membership.of(1, 2, 3), engine.membership());
    }

    @Test
    void staleEntryWhereTheSnapshotHasACommittedOneIsDropped()
    {
        final InMemoryLogStorage storage = log(1, 1, 1, 1);
        InitialState.load(storage, snapshot(2, 4), new LogId(2, 4));
        assertEquals(new LogId(2, 4), storage.lastPurgedLogId());
        assertEquals(new LogId(2, 4), storage.lastLogId(), "entry 5 followed the stale entry 4 and is gone too");
    }

    @Test
    void logThatHoldsTheSnapshotsEntryKeepsItsSuffix()
    {
        final InMemoryLogStorage storage = log(1, 1, 2, 2);
        final InitialState state = InitialState.load(storage, snapshot(1, 3), new LogId(1, 3));
        assertEquals(LogId.ZERO, storage.lastPurgedLogId(), "nothing to reconcile");
        assertEquals(new LogId(2, 5), state.lastLog());
    }
}
