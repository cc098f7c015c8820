package io.ringraft.storage.chronicle;

import io.ringraft.Entry;
import io.ringraft.LogId;
import io.ringraft.Vote;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.testkit.conformance.LogStorageConformance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Kills a real process ({@link CrashChild}) with SIGKILL at random moments while it appends,
 * truncates, purges and saves votes under each durability policy, and after every kill reopens
 * the storage and checks: it opens (a torn tail is cut, nothing else is wrong); it is a valid
 * log (contiguous, terms never decrease, every payload is the one derived from its index and
 * term); it holds every entry the child reported durable, with the reported term, unless a
 * truncation or purge the child announced has since removed it; the purge point and the vote are
 * the last reported ones or the one the child was writing when it died.
 * <p>
 * {@value #KILLS_PROP} sets the number of kills (default {@value #DEFAULT_KILLS}); the seed is
 * printed and taken from {@value #SEED_PROP} when set.
 */
class CrashRecoveryTest
{
    static final String KILLS_PROP = "ringraft.crash.kills";
    static final String SEED_PROP = "ringraft.crash.seed";
    static final int DEFAULT_KILLS = 51;
    private static final DurabilityPolicy[] POLICIES = DurabilityPolicy.values();

    @TempDir
    Path directory;

    /** The settings both the child and the checking parent use. */
    static ChronicleStorageContext context(final Path dir, final DurabilityPolicy policy)
    {
        return new ChronicleStorageContext().directory(dir).durability(policy).segmentEntries(512).blockSize(256 << 10);
    }

    /** What the child reported, folded into what must survive. */
    private static final class Model
    {
        final Map<Long, Long> durableTerms = new HashMap<>();
        long durableLast;
        LogId purged = LogId.ZERO;
        LogId pendingPurge;
        Vote vote = Vote.INITIAL;
        Vote pendingVote;
        boolean opened;
        boolean diedTruncating;
        int lines;
        final List<String> roundLines = new ArrayList<>();

        void apply(final String line)
        {
            if (!line.endsWith(" ."))
            {
                return; // cut off by the kill
            }
            lines++;
            roundLines.add(line);
            final String[] f = line.split(" ");
            switch (f[0])
            {
                case "OPEN" -> opened = true;
                case "D" ->
                {
                    final long term = Long.parseLong(f[1]);
                    final long last = Long.parseLong(f[3]);
                    for (long i = Long.parseLong(f[2]); i <= last; i++)
                    {
                        durableTerms.put(i, term);
                    }
                    durableLast = last;
                }
                case "t" ->
                {
                    // From the intent on, the truncation may have happened whatever becomes of the process.
                    durableLast = Math.min(durableLast, Long.parseLong(f[1]) - 1);
                    diedTruncating = true;
                }
                case "T" -> diedTruncating = false;
                case "p" -> pendingPurge = new LogId(Long.parseLong(f[1]), Long.parseLong(f[2]));
                case "P" ->
                {
                    purged = pendingPurge;
                    pendingPurge = null;
                }
                case "v" -> pendingVote = new Vote(Long.parseLong(f[1]), Long.parseLong(f[2]), Boolean.parseBoolean(f[3]));
                case "V" ->
                {
                    vote = pendingVote;
                    pendingVote = null;
                }
                default -> throw new IllegalStateException("unknown report " + line);
            }
        }
    }

    @Test
    void survivesSigkillUnderLoadWithEveryPolicy() throws Exception
    {
        final int kills = Integer.getInteger(KILLS_PROP, DEFAULT_KILLS);
        final long seed = Long.getLong(SEED_PROP, System.nanoTime());
        final String flags = System.getProperty("ringraft.jvmFlags");
        assertNotNull(flags, "ringraft.jvmFlags is not set: run under surefire, which passes the parent pom's flags");
        final Random random = new Random(seed);
        final Path dir = directory.resolve("node");
        final Model model = new Model();
        final int[] killsPerPolicy = new int[POLICIES.length];
        int tornTails = 0;
        int duringTruncation = 0;
        int duringPurge = 0;
        int duringVote = 0;
        int beforeOpen = 0;
        long maxIndex = 0;

        for (int round = 0; round < kills; round++)
        {
            final DurabilityPolicy policy = POLICIES[round % POLICIES.length];
            final String where = "seed " + seed + " round " + round + " policy " + policy;
            final Path stderr = directory.resolve("child-" + round + ".err");
            final Path stdout = directory.resolve("child-" + round + ".out");
            final List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.addAll(List.of(flags.trim().split("\\s+")));
            command.addAll(List.of("-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
                "-cp", System.getProperty("java.class.path"), CrashChild.class.getName(),
                dir.toString(), policy.name(), Long.toString(random.nextLong())));
            // Reports go to a file, not a pipe: what the child wrote before SIGKILL is in the page
            // cache and read whole once it is dead, with no race against the pipe being drained.
            final Process child = new ProcessBuilder(command).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
            try
            {
                killAtRandom(child, stdout, random, stderr, where);
            }
            finally
            {
                child.destroyForcibly();
            }
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), where + ": the child did not die");
            for (final String line : Files.readAllLines(stdout, StandardCharsets.US_ASCII))
            {
                model.apply(line);
            }
            killsPerPolicy[round % POLICIES.length]++;
            if (!model.opened)
            {
                beforeOpen++;
            }
            duringTruncation += model.diedTruncating ? 1 : 0;
            duringPurge += model.pendingPurge != null ? 1 : 0;
            duringVote += model.pendingVote != null ? 1 : 0;
            try (ChronicleLogStorage storage = ChronicleLogStorage.open(context(dir, policy)))
            {
                tornTails += storage.cutTornTailOnOpen() ? 1 : 0;
                check(storage, model, where);
                maxIndex = Math.max(maxIndex, storage.lastLogId().index());
                adopt(storage, model);
            }
            catch (final RuntimeException | AssertionError ex)
            {
                throw new AssertionError(where + ": " + ex.getMessage() + "\nchild reports (last 20): " +
                    model.roundLines.subList(Math.max(0, model.roundLines.size() - 20), model.roundLines.size()) +
                    "\nchild stderr:\n" + Files.readString(stderr), ex);
            }
            model.opened = false;
            model.diedTruncating = false;
            model.roundLines.clear();
            Files.deleteIfExists(stderr);
            Files.deleteIfExists(stdout);
        }
        System.out.printf("crash test seed %d: %d kills (NONE %d, BATCH %d, ALWAYS %d); killed before open %d, during a truncation %d, " +
            "a purge %d, a vote save %d; torn tails cut %d; highest index %d; report lines %d%n",
            seed, kills, killsPerPolicy[0], killsPerPolicy[1], killsPerPolicy[2], beforeOpen, duringTruncation, duringPurge, duringVote,
            tornTails, maxIndex, model.lines);
        assertTrue(model.lines > kills * 3, "the children reported almost nothing: the test did not exercise the storage");
    }

    private static void killAtRandom(final Process child, final Path stdout, final Random random, final Path stderr, final String where)
        throws Exception
    {
        final boolean early = random.nextInt(4) == 0;
        if (early)
        {
            // Anywhere from JVM start through recovery to the first appends.
            Thread.sleep(random.nextInt(1500));
        }
        else
        {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            boolean opened = false;
            while (!opened && child.isAlive() && System.nanoTime() < deadline)
            {
                Thread.sleep(5);
                opened = Files.readString(stdout, StandardCharsets.US_ASCII).startsWith("OPEN ");
            }
            if (!opened)
            {
                fail(where + ": the child did not open the storage: " + Files.readString(stderr));
            }
            Thread.sleep(10 + random.nextInt(200));
        }
        if (!child.isAlive())
        {
            fail(where + ": the child died by itself: " + Files.readString(stderr));
        }
    }

    private static void check(final ChronicleLogStorage storage, final Model model, final String where)
    {
        final LogId purged = storage.lastPurgedLogId();
        assertTrue(purged.equals(model.purged) || purged.equals(model.pendingPurge),
            where + ": last purged " + purged + " is neither the reported " + model.purged + " nor the pending " + model.pendingPurge);
        final Vote vote = storage.readVote();
        assertTrue(vote.equals(model.vote) || vote.equals(model.pendingVote),
            where + ": vote " + vote + " is neither the reported " + model.vote + " nor the pending " + model.pendingVote);
        final LogId last = storage.lastLogId();
        assertTrue(last.compareTo(purged) >= 0, where + ": last " + last + " before last purged " + purged);
        if (model.durableLast > purged.index())
        {
            assertTrue(last.index() >= model.durableLast,
                where + ": the log ends at " + last + " but the child reported " + model.durableLast + " durable");
        }
        final long[] previous = {purged.term(), purged.index()};
        storage.read(purged.index() + 1, Long.MAX_VALUE, (term, index, type, buffer, offset, length) ->
        {
            assertEquals(previous[1] + 1, index, where + ": gap");
            assertTrue(term >= previous[0], where + ": term goes back at " + index);
            final byte[] bytes = new byte[length];
            buffer.getBytes(offset, bytes);
            assertEquals(LogStorageConformance.entry(index, term), new Entry(term, index, type, bytes), where + ": content at " + index);
            if (index <= model.durableLast)
            {
                assertEquals(model.durableTerms.get(index), term, where + ": durable entry " + index + " changed its term");
            }
            previous[0] = term;
            previous[1] = index;
            return true;
        });
        assertEquals(last.index(), previous[1], where + ": read ends before the last log id");
    }

    /** Everything present on open counts as durable from now on. */
    private static void adopt(final ChronicleLogStorage storage, final Model model)
    {
        model.durableTerms.clear();
        final LogId purged = storage.lastPurgedLogId();
        storage.read(purged.index() + 1, Long.MAX_VALUE, (term, index, type, buffer, offset, length) ->
        {
            model.durableTerms.put(index, term);
            return true;
        });
        model.durableLast = storage.lastLogId().index();
        model.purged = purged;
        model.pendingPurge = null;
        model.vote = storage.readVote();
        model.pendingVote = null;
    }
}
