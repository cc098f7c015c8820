package io.ringraft.bench.deployed;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The deployed-shape benchmark end to end, briefly (one short window each, in-memory logs): shape A over Aeron
 * UDP in both thread layouts, shape B in-process; commands committed and answered; the summary's medians.
 */
class DeployedShapesBenchTest
{
    private static final Pattern OPS = Pattern.compile("window=16 ops=(\\d+) ");

    @Test
    void shapeAWithAThreadPerAgentCommitsAndReplies() throws Exception
    {
        assertCommits(DeployedShapesBench.run(new String[] {"shape=A", "log=memory", "windows=16", "warmup=0", "seconds=1", "idle=0"}));
    }

    @Test
    void shapeAComposedOnOneThreadPerNodeCommitsAndReplies() throws Exception
    {
        final List<String> results = DeployedShapesBench.run(new String[] {"shape=A", "log=memory", "windows=16", "warmup=0", "seconds=1",
            "idle=1", "layout=composed", "nodeIdle=ytp", "client=composed", "clientIdle=ytp"});
        assertTrue(results.stream().anyMatch(r -> r.contains("idleCpu=") && !r.contains("wakeUs=NaN")), results.toString());
        assertCommits(results);
    }

    @Test
    void shapeBCommitsInProcess() throws Exception
    {
        assertCommits(DeployedShapesBench.run(new String[] {"shape=B", "log=memory", "windows=16", "warmup=0", "seconds=1", "idle=0"}));
    }

    @Test
    void summaryGivesMediansAndRangesPerVariantAndWindow() throws Exception
    {
        final Path file = Files.createTempFile("deployed-results", ".txt");
        try
        {
            Files.write(file, List.of("# round 1", "RESULT shape=A tag=composed#r1 window=16 ops=100 p50=30.0",
                "RESULT shape=A tag=composed#r2 window=16 ops=300 p50=10.0", "RESULT shape=A tag=composed#r3 window=16 ops=200 p50=20.0",
                "RESULT shape=B tag=B#r1 idleCpu=4.0"));
            final PrintStream saved = System.out;
            final ByteArrayOutputStream out = new ByteArrayOutputStream();
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            try
            {
                DeployedSummary.main(new String[] {file.toString()});
            }
            finally
            {
                System.setOut(saved);
            }
            assertEquals(List.of("| composed | W=16 | ops 200.0 [100.0–300.0] n=3 | p50 20.0 [10.0–30.0] n=3 |", "| B | idle | idleCpu 4.0 |"),
                List.of(out.toString(StandardCharsets.UTF_8).split("\\R")));
        }
        finally
        {
            Files.delete(file);
        }
    }

    private static void assertCommits(final List<String> results)
    {
        final String row = results.stream().filter(r -> r.contains("window=16")).findFirst().orElseThrow();
        final Matcher m = OPS.matcher(row);
        assertTrue(m.find(), row);
        // Commands were committed and answered after apply. (A run ends only once every command has its reply,
        // or fails; refusals are counted apart, and happen only if the leadership moves, which the load follows.)
        assertTrue(Long.parseLong(m.group(1)) > 0, row);
    }
}
