package io.ringraft.storage.chronicle;

import io.ringraft.LogId;
import io.ringraft.Vote;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.testkit.conformance.LogStorageConformance;

import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.PrintStream;
import java.nio.file.Paths;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * The process {@link CrashRecoveryTest} kills: opens the storage and appends, truncates, purges
 * and saves votes until it is killed, reporting on stdout, one line each and flushed at once,
 * what it is about to do (lower case: an intent) and what is now durable (upper case):
 * <pre>
 * OPEN lastPurgedTerm lastPurgedIndex lastTerm lastIndex .
 * D term firstIndex lastIndex .     entries firstIndex..lastIndex of term are durable
 * t fromIndex .  / T fromIndex .    truncation starts / is durable
 * p term index . / P .              purge starts / is durable
 * v term node committed . / V .     vote save starts / is durable
 * </pre>
 * {@code flush()} reports what is durable so far, which with a flusher thread may trail the last
 * append by several batches: each append's term is remembered until {@code flush()} says the
 * entry is durable, and then reported with the term it was appended in, in runs of one term.
 */
public final class CrashChild
{
    private CrashChild()
    {
    }

    public static void main(final String[] args)
    {
        haltWhenOrphaned();
        final PrintStream out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 256), false);
        final DurabilityPolicy policy = DurabilityPolicy.valueOf(args[1]);
        final Random random = new Random(Long.parseLong(args[2]));
        final ChronicleLogStorage storage = ChronicleLogStorage.open(CrashRecoveryTest.context(Paths.get(args[0]), policy));
        LogId lastPurged = storage.lastPurgedLogId();
        LogId last = storage.lastLogId();
        report(out, "OPEN " + lastPurged.term() + " " + lastPurged.index() + " " + last.term() + " " + last.index());
        long term = Math.max(storage.readVote().term(), last.term()) + 1;
        // Appended, not yet reported durable: index -> term. Everything present at open is durable.
        final TreeMap<Long, Long> pending = new TreeMap<>();
        long reported = last.index();
        saveVote(storage, out, new Vote(term, 1, false));
        while (true)
        {
            final int dice = random.nextInt(1000);
            last = storage.lastLogId();
            lastPurged = storage.lastPurgedLogId();
            if (dice < 6 && last.index() > lastPurged.index())
            {
                final long from = Math.max(lastPurged.index() + 1, last.index() - random.nextInt(300));
                report(out, "t " + from);
                storage.truncateSuffix(from);
                storage.flush();
                pending.tailMap(from).clear();
                reported = Math.min(reported, from - 1);
                report(out, "T " + from);
                term++;
                saveVote(storage, out, new Vote(term, 1 + random.nextInt(3), false));
            }
            else if (dice < 9)
            {
                final LogId upTo;
                if (dice == 8 || last.index() == lastPurged.index())
                {
                    upTo = new LogId(term, last.index() + 1 + random.nextInt(50));
                }
                else
                {
                    final long index = lastPurged.index() + 1 + random.nextInt((int)Math.min(Integer.MAX_VALUE, last.index() - lastPurged.index()));
                    upTo = new LogId(storage.entry(index).term(), index);
                }
                report(out, "p " + upTo.term() + " " + upTo.index());
                storage.purgePrefix(upTo);
                report(out, "P");
            }
            else if (dice < 20)
            {
                if (random.nextBoolean())
                {
                    term++;
                }
                saveVote(storage, out, new Vote(term, 1 + random.nextInt(3), random.nextBoolean()));
            }
            else
            {
                final int count = 1 + random.nextInt(64);
                final long first = last.index() + 1;
                for (long i = first; i < first + count; i++)
                {
                    storage.append(LogStorageConformance.entry(i, term));
                    pending.put(i, term);
                }
                final long durable = storage.flush();
                if (durable > reported)
                {
                    reportDurable(out, pending.headMap(durable, true));
                    reported = durable;
                }
            }
        }
    }

    /** Reports {@code durable} (index -> term, in order) as D lines, one per run of consecutive indexes of one term, and forgets them. */
    private static void reportDurable(final PrintStream out, final Map<Long, Long> durable)
    {
        long runTerm = -1;
        long runFirst = -1;
        long runLast = -1;
        for (final Map.Entry<Long, Long> e : durable.entrySet())
        {
            if (e.getValue() != runTerm || e.getKey() != runLast + 1)
            {
                if (runTerm >= 0)
                {
                    report(out, "D " + runTerm + " " + runFirst + " " + runLast);
                }
                runTerm = e.getValue();
                runFirst = e.getKey();
            }
            runLast = e.getKey();
        }
        if (runTerm >= 0)
        {
            report(out, "D " + runTerm + " " + runFirst + " " + runLast);
        }
        durable.clear();
    }

    private static void saveVote(final ChronicleLogStorage storage, final PrintStream out, final Vote vote)
    {
        report(out, "v " + vote.term() + " " + vote.votedFor() + " " + vote.committed());
        storage.saveVote(vote);
        report(out, "V");
    }

    private static void report(final PrintStream out, final String line)
    {
        out.print(line + " .\n");
        out.flush();
    }

    /**
     * The test kills this process; if the test itself dies first (a surefire timeout, a killed build),
     * nothing would, and it would append to the disk for ever: halt once the parent is gone.
     */
    private static void haltWhenOrphaned()
    {
        final ProcessHandle parent = ProcessHandle.current().parent().orElse(null);
        final Thread watchdog = new Thread(() ->
        {
            while (parent != null && parent.isAlive())
            {
                try
                {
                    Thread.sleep(200);
                }
                catch (final InterruptedException ex)
                {
                    return;
                }
            }
            Runtime.getRuntime().halt(3);
        }, "orphan-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }
}
