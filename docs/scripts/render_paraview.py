"""Render the last frame of a run's output.xdmf with ParaView (Debian: python3-paraview):

    xvfb-run -a pvbatch docs/scripts/render_paraview.py out/default/output.xdmf frame.png

Colours the lattice by Sz and draws the in-plane spin direction as arrows (the vector S is
built from the components Sx, Sy, Sz of the XDMF file with a Calculator).
"""

import sys

from paraview.simple import (Calculator, ColorBy, CreateView, Glyph, GetAnimationScene,
                             GetColorTransferFunction, SaveScreenshot, Show, XDMFReader)

source, target = sys.argv[1], sys.argv[2]
reader = XDMFReader(FileNames=[source])
reader.UpdatePipelineInformation()
scene = GetAnimationScene()
scene.UpdateAnimationUsingDataTimeSteps()
scene.AnimationTime = reader.TimestepValues[-1] if reader.TimestepValues else 0.0
vector = Calculator(Input=reader, ResultArrayName="S",
                    Function="Sx*iHat + Sy*jHat + Sz*kHat")
view = CreateView("RenderView")
view.ViewSize = [1200, 800]
view.OrientationAxesVisibility = 0
surface = Show(vector, view)
ColorBy(surface, ("POINTS", "Sz"))
colors = GetColorTransferFunction("Sz")
colors.ApplyPreset("Cool to Warm", True)
colors.RescaleTransferFunction(-1.0, 1.0)
arrows = Glyph(Input=vector, GlyphType="Arrow")
arrows.OrientationArray = ["POINTS", "S"]
arrows.ScaleArray = ["POINTS", "No scale array"]
arrows.ScaleFactor = 0.8
shown = Show(arrows, view)
ColorBy(shown, None)
view.ResetCamera()
SaveScreenshot(target, view, ImageResolution=[1200, 800])
print(f"wrote {target} (time {scene.AnimationTime:g})")
