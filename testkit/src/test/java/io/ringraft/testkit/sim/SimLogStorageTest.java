package io.ringraft.testkit.sim;

import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Vote;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The crash model of {@link SimLogStorage}: a crash keeps exactly what the last flush made
 * durable, whatever mix of appends and truncations came since; purges are durable at once.
 */
final class SimLogStorageTest
{
    @Test
    void aCrashForgetsAppendsSinceTheLastFlush()
    {
        final SimLogStorage log = new SimLogStorage();
        append(log, 1, 1);
        append(log, 2, 1);
        assertEquals(2, log.flush());
        append(log, 3, 2);
        log.crash();
        assertEquals(new LogId(1, 2), log.lastLogId());
        assertEquals(-1, log.termAt(3));
    }

    @Test
    void aCrashUndoesATruncationSinceTheLastFlush()
    {
        final SimLogStorage log = new SimLogStorage();
        for (int i = 1; i <= 5; i++)
        {
            append(log, i, 1);
        }
        log.flush();
        log.truncateSuffix(3);
        append(log, 3, 2);
        assertEquals(new LogId(2, 3), log.lastLogId());
        log.crash();
        assertEquals(new LogId(1, 5), log.lastLogId());
        assertEquals(1, log.termAt(3));
    }

    @Test
    void aPurgeIsDurableAtOnceAndDropsADurableSuffixThatDoesNotContinueIt()
    {
        final SimLogStorage log = new SimLogStorage();
        for (int i = 1; i <= 5; i++)
        {
            append(log, i, 1);
        }
        log.flush();
        log.truncateSuffix(3);
        append(log, 3, 2);
        append(log, 4, 2);
        log.purgePrefix(new LogId(2, 3));
        log.crash();
        assertEquals(new LogId(2, 3), log.lastPurgedLogId());
        assertEquals(new LogId(2, 3), log.lastLogId());
    }

    @Test
    void theVoteIsDurableWhenSaved()
    {
        final SimLogStorage log = new SimLogStorage();
        log.saveVote(new Vote(3, 2, false));
        log.crash();
        assertEquals(new Vote(3, 2, false), log.readVote());
    }

    @Test
    void randomMixMatchesAModelThatCopiesOnEveryFlush()
    {
        final SplittableRandom random = new SplittableRandom(7);
        final SimLogStorage log = new SimLogStorage();
        List<Entry> durable = new ArrayList<>();
        LogId durablePurged = LogId.ZERO;
        List<Entry> current = new ArrayList<>();
        LogId purged = LogId.ZERO;
        long term = 1;
        for (int step = 0; step < 20_000; step++)
        {
            final int dice = random.nextInt(100);
            final long last = current.isEmpty() ? purged.index() : current.get(current.size() - 1).index();
            if (dice < 45)
            {
                term += random.nextInt(10) == 0 ? 1 : 0;
                final Entry e = new Entry(term, last + 1, EntryType.NORMAL, new byte[] {(byte)step});
                log.append(e);
                current.add(e);
            }
            else if (dice < 60 && last > purged.index())
            {
                final long from = purged.index() + 1 + random.nextLong(last - purged.index());
                log.truncateSuffix(from);
                current = new ArrayList<>(current.subList(0, (int)(from - purged.index() - 1)));
            }
            else if (dice < 63 && last > purged.index())
            {
                final long upTo = purged.index() + 1 + random.nextLong(last - purged.index());
                final Entry at = current.get((int)(upTo - purged.index() - 1));
                log.purgePrefix(at.logId());
                current = new ArrayList<>(current.subList((int)(upTo - purged.index()), current.size()));
                // A purge is durable at once; a durable image that does not continue from it loses its suffix.
                final int atInDurable = (int)(upTo - durablePurged.index() - 1);
                final boolean continues = atInDurable < durable.size() && durable.get(atInDurable).term() == at.term();
                durable = continues ? new ArrayList<>(durable.subList(atInDurable + 1, durable.size())) : new ArrayList<>();
                durablePurged = at.logId();
                purged = at.logId();
            }
            else if (dice < 85)
            {
                log.flush();
                durable = new ArrayList<>(current);
                durablePurged = purged;
            }
            else
            {
                log.crash();
                current = new ArrayList<>(durable);
                purged = durablePurged;
            }
            assertEquals(purged, log.lastPurgedLogId(), "step " + step);
            assertEquals(current.isEmpty() ? purged : current.get(current.size() - 1).logId(), log.lastLogId(), "step " + step);
            assertEquals(durable.isEmpty() ? durablePurged : durable.get(durable.size() - 1).logId(), log.durableLastLogId(),
                "step " + step);
            if (!current.isEmpty())
            {
                final int i = random.nextInt(current.size());
                assertEquals(current.get(i), log.entry(current.get(i).index()), "step " + step);
            }
            if (!durable.isEmpty())
            {
                final int i = random.nextInt(durable.size());
                assertEquals(durable.get(i).term(), log.durableTermAt(durable.get(i).index()), "step " + step);
            }
            if (!current.isEmpty() && current.get(current.size() - 1).term() > term)
            {
                term = current.get(current.size() - 1).term();
            }
            if (current.isEmpty() && purged.term() > term)
            {
                term = purged.term();
            }
        }
    }

    private static void append(final SimLogStorage log, final long index, final long term)
    {
        log.append(new Entry(term, index, EntryType.NORMAL, new byte[] {(byte)index}));
    }
}
