"""Pure motion geometry: skeletons, rotations, the HumanML3D feature representation, BVH."""
