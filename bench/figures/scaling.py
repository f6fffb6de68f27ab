"""How the town packet's build time grows with the town's toolkits: 1, 3, 6 and 12.

Each toolkit is as in the packet figures (approved, six photos, a ten-page scanned PDF), with
3-megapixel photos instead of 12: their print copies are the same 1600 pixels wide, and the
uploads take a third of the time.
"""

from __future__ import annotations

from bench.figures.packet import approved_toolkits, timed_build, town_packet
from bench.files import PhotoMaker
from bench.instance import Instance
from bench.options import Options
from bench.report import Figure, progress, reported
from bench.world import World

GROUP = "scaling"
COUNTS = (1, 3, 6, 12)
PHOTO_SIZE = (2000, 1500)


def run(options: Options) -> list[Figure]:
    photos = PhotoMaker(PHOTO_SIZE)
    figures = []
    with Instance(postgres_url=options.postgres_url) as instance, instance.context():
        world = World()
        town = world.town(0)
        town_id, cycle_id = town.id, world.cycle_id
        made = 0
        for count in COUNTS:
            progress(f"scaling: the town packet with {count} of {COUNTS[-1]} toolkits")
            approved_toolkits(world, world.town(0), photos, count - made, first=made)
            made = count
            packet = town_packet(town_id, cycle_id)
            if count == COUNTS[0]:
                timed_build(packet)  # the process's first render loads what later ones reuse
            seconds, pdf = timed_build(packet)
            figures.append(
                reported(
                    GROUP,
                    f"scaling.{count}",
                    f"Town packet build with {count} toolkit{'s' if count > 1 else ''}",
                    seconds,
                    "s",
                    note=f"{seconds / count:.2f} s a toolkit; {len(pdf) / 2**20:.1f} MB",
                )
            )
    return figures
