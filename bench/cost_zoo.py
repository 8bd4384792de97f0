"""bench case cost_zoo: cost evaluation of ResNet-50 and VGG-16 from layer shapes (no
weights): mapping on 256x256 arrays, per-layer action counts, PIM energy/area/latency and the
digital baseline, with the technology table loaded once; then the same with the weight copies
chosen automatically (replication 'auto' within twice the one-copy area). Prints one JSON
line per network;
the reference is building the network's layer shapes (zoo_network, shape inference) in the
same run; `seconds_all_periphery` times the PIM cost alone with every selectable periphery
component of evaluator/periphery.h switched on (tile H-trees included). Target: each < 10 ms (issue 12)."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import mho  # noqa: E402
from mho import _core  # noqa: E402


ALL_PERIPHERY = _core.PimSystemSpec(
    adc_type="multilevel_sa", row_driver="switch_matrix", column_mux="transmission_gate", write_voltage_V=2.0,
    accumulation="adder_register", buffer_type="register_file", buffer_levels=3, interconnect="xy_bus",
    input_toggle=0.18, output_toggle=0.5, area_model="layout_box", cell_aspect=3.0, tile_interconnect="htree",
    repeater_delay_tolerance=0.1)


def best_of(fn, repeats=5):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    tech = mho.cost.load_tech("22nm")
    spec = mho.TileSpec(rows=256, cols=256, cell="rram_neurosim_22nm", weight_bits=8, bits_per_cell=2,
                        dac=mho.DacSpec(input_bits=8, mode="bitserial", signed_mode="unsigned"),
                        adc=mho.AdcSpec(bits=6, columns_per_adc=8))
    for name in ("resnet50", "vgg16"):
        ref = best_of(lambda: _core.zoo_network(name))
        out = {}

        def evaluate():
            net = _core.zoo_network(name)
            out["pim"] = mho.cost.pim(net, spec, tech=tech)
            out["digital"] = mho.cost.digital(net, tech=tech)
        sec = best_of(evaluate)
        net = _core.zoo_network(name)
        sec_all = best_of(lambda: mho.cost.pim(net, spec, tech=tech, system=ALL_PERIPHERY))
        p, d = out["pim"], out["digital"]
        # The same with the weight copies chosen to balance the pipeline within twice the
        # one-copy chip's area (evaluator/pipeline.h).
        auto = mho.PimSystemSpec(replication="auto", area_budget_mm2=2 * p.area_total_m2 * 1e6)

        def evaluate_auto():
            out["auto"] = mho.cost.pim(_core.zoo_network(name), spec, tech=tech, system=auto)
            mho.cost.digital(_core.zoo_network(name), tech=tech)
        sec_auto = best_of(evaluate_auto)
        a = out["auto"]
        print(json.dumps({
            "case": "cost_zoo", "network": name, "seconds": round(sec, 6), "target_seconds": 0.01,
            "seconds_all_periphery": round(sec_all, 6),
            "reference_seconds": round(ref, 6), "ratio_to_reference": round(sec / ref, 2),
            "ratio_note": "cost evaluation (shapes + mapping + PIM + digital) / building the layer shapes",
            "arrays": sum(l.arrays for l in p.layers), "pim_energy_uJ": round(p.energy_total_J * 1e6, 3),
            "pim_tops_per_w": round(p.tops_per_w, 3), "digital_tops_per_w": round(d.tops_per_w, 3),
            "seconds_auto_replication": round(sec_auto, 6),
            "pipeline_cycle_us": round(1e6 / p.throughput_per_s, 3),
            "pipeline_cycle_auto_us": round(1e6 / a.throughput_per_s, 3),
        }))


if __name__ == "__main__":
    main()
