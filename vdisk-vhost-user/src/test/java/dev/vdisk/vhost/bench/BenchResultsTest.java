package dev.vdisk.vhost.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class BenchResultsTest {
  static BenchResults.Sample sample(int round, double iops, long cpuNanosPerIo) {
    FioJob.Measurement m = new FioJob.Measurement(iops, iops * 4096, (long) iops * 4096, 1000, 1);
    return new BenchResults.Sample(round, m, (long) iops * cpuNanosPerIo);
  }

  @Test
  void medianOfOddAndEvenCounts() {
    assertThat(BenchResults.median(List.of(5.0, 1.0, 3.0))).isEqualTo(3.0);
    assertThat(BenchResults.median(List.of(4.0, 1.0, 3.0, 2.0))).isEqualTo(2.5);
    assertThat(BenchResults.median(List.of())).isNaN();
  }

  @Test
  void pairedRatiosCompareServersWithinEachRound() {
    BenchResults r = new BenchResults(new E2EBench(new String[] {"--rounds", "3"}), Instant.now());
    String job = FioJob.STANDARD.get(0).name();
    // Round 2 is slow for both servers; paired ratios ignore that, vdisk is 2x in every round.
    r.add(ServerUnderTest.VDISK, job, sample(1, 2000, 10_000));
    r.add(ServerUnderTest.QSD, job, sample(1, 1000, 40_000));
    r.add(ServerUnderTest.VDISK, job, sample(2, 200, 30_000));
    r.add(ServerUnderTest.QSD, job, sample(2, 100, 20_000));
    r.add(ServerUnderTest.VDISK, job, sample(3, 4000, 10_000));
    r.add(ServerUnderTest.QSD, job, sample(3, 2000, 50_000));
    assertThat(r.pairedIopsRatio(job)).isEqualTo(2.0);
    assertThat(r.medianIops(ServerUnderTest.VDISK, job)).isEqualTo(2000);
    assertThat(r.medianCpu(ServerUnderTest.QSD, job)).isEqualTo(40.0);
    assertThat(r.pairedCpuRatio(job)).isEqualTo(0.25);
    assertThat(r.cpuWins(job)).isEqualTo(2);
  }
}
