"""models/text"""
