package dev.vdisk.vhost.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** fio 3.33 terse lines (captured on the host; fio's JSON for the same runs gave these values). */
class FioJobTest {
  static final String READ =
      "3;fio-3.33;randread-4k-qd1;0;0;8192;19504;4876;420;0;0;0.000000;0.000000;41;14684;203.218874;808.286336;1.000000%=44;5.000000%=46;10.000000%=48;20.000000%=50;30.000000%=52;40.000000%=56;50.000000%=59;60.000000%=64;70.000000%=70;80.000000%=76;90.000000%=95;95.000000%=309;99.000000%=3981;99.500000%=5144;99.900000%=9764;99.950000%=10944;99.990000%=14745;0%=0;0%=0;0%=0;41;14684;203.386806;808.332677;0;0;0.000000%;0.000000;0.000000;0;0;0;0;0;0;0.000000;0.000000;0;0;0.000000;0.000000;1.000000%=0;5.000000%=0;10.000000%=0;20.000000%=0;30.000000%=0;40.000000%=0;50.000000%=0;60.000000%=0;70.000000%=0;80.000000%=0;90.000000%=0;95.000000%=0;99.000000%=0;99.500000%=0;99.900000%=0;99.950000%=0;99.990000%=0;0%=0;0%=0;0%=0;0;0;0.000000;0.000000;0;0;0.000000%;0.000000;0.000000;0.000000%;16.706444%;1989;0;10;100.0%;0.0%;0.0%;0.0%;0.0%;0.0%;0.0%;0.00%;0.00%;0.00%;0.00%;18.12%;72.51%;4.15%;0.78%;0.34%;0.29%;0.93%;2.00%;0.78%;0.10%;0.00%;0.00%;0.00%;0.00%;0.00%;0.00%;0.00%;0.00%;vda;993;1;0;0;64;0;65;10.11%";
  static final String WRITE =
      "3;fio-3.33;write-1m-qd8;0;0;0;0;0;0;0;0;0.000000;0.000000;0;0;0.000000;0.000000;1.000000%=0;5.000000%=0;10.000000%=0;20.000000%=0;30.000000%=0;40.000000%=0;50.000000%=0;60.000000%=0;70.000000%=0;80.000000%=0;90.000000%=0;95.000000%=0;99.000000%=0;99.500000%=0;99.900000%=0;99.950000%=0;99.990000%=0;0%=0;0%=0;0%=0;0;0;0.000000;0.000000;0;0;0.000000%;0.000000;0.000000;8192;58935;57;139;0;0;0.000000;0.000000;2043;72678;16297.289375;24113.884359;1.000000%=2039;5.000000%=2039;10.000000%=2039;20.000000%=2056;30.000000%=2146;40.000000%=2146;50.000000%=2146;60.000000%=11993;70.000000%=13434;80.000000%=23986;90.000000%=72876;95.000000%=72876;99.000000%=72876;99.500000%=72876;99.900000%=72876;99.950000%=72876;99.990000%=72876;0%=0;0%=0;0%=0;2083;72696;16331.756000;24106.879434;0;0;0.000000%;0.000000;0.000000;0.000000%;12.318841%;6;0;11;100.0%;0.0%;0.0%;0.0%;0.0%;0.0%;0.0%;0.00%;0.00%;0.00%;0.00%;0.00%;0.00%;0.00%;0.00%;0.00%;0.00%;0.00%;50.00%;0.00%;25.00%;12.50%;12.50%;0.00%;0.00%;0.00%;0.00%;0.00%;0.00%;vda;0;13;0;18;0;131;136;13.45%";

  static FioJob job(String name) {
    return FioJob.STANDARD.stream().filter(j -> j.name().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void readFieldsComeFromTheReadColumns() {
    FioJob.Measurement m = job("randread-4k-qd1").parse(READ);
    assertThat(m.iops()).isEqualTo(4876.0);
    assertThat(m.bytesPerSecond()).isEqualTo(19504 * 1024.0);
    assertThat(m.bytes()).isEqualTo(8192 * 1024L);
    assertThat(m.runtimeMillis()).isEqualTo(420);
    assertThat(m.meanLatencyMicros()).isEqualTo(203.218874);
  }

  @Test
  void writeFieldsComeFromTheWriteColumns() {
    FioJob.Measurement m = job("write-1m-qd8").parse(WRITE);
    assertThat(m.iops()).isEqualTo(57.0);
    assertThat(m.bytesPerSecond()).isEqualTo(58935 * 1024.0);
    assertThat(m.runtimeMillis()).isEqualTo(139);
    assertThat(m.meanLatencyMicros()).isEqualTo(16297.289375);
  }

  @Test
  void aLineForAnotherJobOrAReadJobWithNoReadsIsRefused() {
    assertThatThrownBy(() -> job("randread-4k-qd32").parse(READ))
        .hasMessageContaining("expected: randread-4k-qd32");
    assertThatThrownBy(() -> new FioJob("write-1m-qd8", "read", "1m", 8, "").parse(WRITE))
        .hasMessageContaining("moved 0 KiB");
    assertThatThrownBy(() -> job("read-1m-qd8").parse("fio: something went wrong"))
        .hasMessageContaining("terse v3");
  }

  @Test
  void commandAsksForDirectLibaioTerseOutput() {
    assertThat(job("randread-4k-qd32").command(7))
        .contains("--filename=/dev/vda", "--direct=1", "--ioengine=libaio", "--iodepth=32")
        .contains("--bs=4k", "--rw=randread", "--runtime=7", "--minimal");
  }
}
